"""DurableLog in one process: the record format, replay, clear errors for bad files and bad
values, the lock file, and compaction (online and on open, keeping mode and symlinks)."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iii_core.backends._durable_log import (
    COMPACT_MIN_BYTES,
    MAX_VALUE_DEPTH,
    CorruptStoreLogError,
    DurableLog,
)
from iii_core.store import StoreCallError
from tests.jsonvalues import same_json


def nested(depth: int) -> Any:
    """A list nested ``depth`` levels (``[]`` is depth 1), built without recursion."""
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


@contextlib.contextmanager
def opened(path: Path | str, **options: Any) -> Iterator[tuple[DurableLog, dict[str, Any]]]:
    log, hashes = DurableLog.open(path, **options)
    try:
        yield log, hashes
    finally:
        log.close()


def reopen(path: Path | str) -> dict[str, dict[str, Any]]:
    with opened(path) as (_, hashes):
        return hashes


def order(hashes: dict[str, dict[str, Any]]) -> list[tuple[str, list[str]]]:
    return [(key, list(fields)) for key, fields in hashes.items()]


class TestFormatAndReplay:
    def test_a_new_log_is_created_empty_with_the_pid_in_the_lock_file(self, tmp_path: Path) -> None:
        log_path = tmp_path / "store.log"
        with opened(log_path) as (_, hashes):
            assert hashes == {}
            assert log_path.read_bytes() == b""
            assert (tmp_path / "store.log.lock").read_text() == f"{os.getpid()}\n"
        assert (tmp_path / "store.log.lock").read_text() == ""

    def test_records_are_the_format_earlier_releases_wrote(self, tmp_path: Path) -> None:
        log_path = tmp_path / "store.log"
        with opened(log_path) as (log, _):
            log.append_set("state:s", "k", {"a": [1, 2.5, None, "é"]})
            log.append_delete("state:s", "k")
            log.append_set("stream:s:g", "i", 18446744073709551615)
        assert log_path.read_bytes() == (
            b'["state:s","k",{"a":[1,2.5,null,"\xc3\xa9"]}]\n'
            b'["state:s","k"]\n'
            b'["stream:s:g","i",18446744073709551615]\n'
        )

    def test_replay_keeps_insertion_order_and_drops_emptied_hashes(self, tmp_path: Path) -> None:
        log_path = tmp_path / "store.log"
        # Written by hand, as an earlier release's MemoryStore would have written it.
        log_path.write_bytes(
            b'["h1","a",1]\n["h1","b",2]\n["h1","c",3]\n'
            b'["h2","x",1]\n["gone","x",1]\n'
            b'["h1","a",10]\n'  # an overwrite keeps a's place
            b'["h1","b"]\n["h1","b",20]\n'  # delete + re-create moves b to the end
            b'["gone","x"]\n'  # an emptied hash is dropped
            b'["h2","missing"]\n'  # deleting a missing field changes nothing
        )
        hashes = reopen(log_path)
        assert order(hashes) == [("h1", ["a", "c", "b"]), ("h2", ["x"])]
        assert hashes == {"h1": {"a": 10, "c": 3, "b": 20}, "h2": {"x": 1}}
        # Compacted on open: one set per live field, in the same order.
        assert log_path.read_bytes() == (
            b'["h1","a",10]\n["h1","c",3]\n["h1","b",20]\n["h2","x",1]\n'
        )
        assert order(reopen(log_path)) == order(hashes)

    def test_appended_records_replay_on_reopen(self, tmp_path: Path) -> None:
        log_path = tmp_path / "store.log"
        value = {"deep": nested(MAX_VALUE_DEPTH - 1), "text": '[{"]}', "n": -(2**63)}
        with opened(log_path, fsync=True) as (log, _):
            log.append_set("h", "f", value)
            log.append_set("h", "g", 1)
            log.append_delete("h", "g")
        hashes = reopen(log_path)
        assert list(hashes) == ["h"]
        assert list(hashes["h"]) == ["f"]
        assert same_json(hashes["h"]["f"], value)

    def test_a_compact_log_is_not_rewritten_on_open(self, tmp_path: Path) -> None:
        log_path = tmp_path / "store.log"
        log_path.write_bytes(b'["h","a",1]\n["h","b",2]\n')
        inode = log_path.stat().st_ino
        assert reopen(log_path) == {"h": {"a": 1, "b": 2}}
        assert log_path.stat().st_ino == inode

    @pytest.mark.parametrize(
        "tail",
        [b'["h","b",', b'["h","b",2]', b"\x00\x00\x00\x00", b'["h","b",' + b"[" * 100_000, b"["],
        ids=["half-record", "record-without-newline", "zero-filled", "deep-half-record", "bracket"],
    )
    def test_a_torn_last_line_is_dropped_and_cut(self, tmp_path: Path, tail: bytes) -> None:
        log_path = tmp_path / "store.log"
        log_path.write_bytes(b'["h","a",1]\n' + tail)
        with opened(log_path) as (log, hashes):
            assert hashes == {"h": {"a": 1}}
            assert log_path.read_bytes() == b'["h","a",1]\n'
            log.append_set("h", "c", 3)
        assert reopen(log_path) == {"h": {"a": 1, "c": 3}}

    @pytest.mark.parametrize(
        ("content", "line"),
        [
            (b"my important notes", 1),
            (b'["h","a",1]\n' + b"[" * 100_000, 2),
            (b'["h","a",1]\nsome text', 2),
        ],
        ids=["a-one-line-text-file", "deep-garbage", "text-after-a-record"],
    )
    def test_an_unterminated_last_line_that_no_write_leaves_is_corrupt_and_kept(
        self, tmp_path: Path, content: bytes, line: int
    ) -> None:
        # A file that is not a store log (a user's notes given by mistake) must not be cut.
        log_path = tmp_path / "notes.txt"
        log_path.write_bytes(content)
        with pytest.raises(CorruptStoreLogError) as raised:
            reopen(log_path)
        assert raised.value.message.startswith(f"corrupt store log: {log_path} line {line}: ")
        assert log_path.read_bytes() == content

    def test_stale_staging_file_of_a_crashed_compaction_is_removed(self, tmp_path: Path) -> None:
        log_path = tmp_path / "store.log"
        log_path.write_bytes(b'["h","a",1]\n')
        (tmp_path / "store.log.compact").write_bytes(b'["h","a",')
        assert reopen(log_path) == {"h": {"a": 1}}
        assert not (tmp_path / "store.log.compact").exists()


class TestCorruptLog:
    @pytest.mark.parametrize(
        ("line", "why"),
        [
            (b"not json", "not JSON"),
            (b'["h","f",1', "not JSON"),
            (b'{"h":"f"}', "expected \\[hash_key, field, value\\]"),
            (b'"h"', "expected \\[hash_key"),
            (b'["h"]', "expected \\[hash_key"),
            (b'["h","f",1,2]', "expected \\[hash_key"),
            (b'[1,"f",2]', "expected .* with string hash_key and field"),
            (b'["h",null]', "expected .* with string hash_key and field"),
            (b"[" * 100_000 + b"]" * 100_000, "nested too deep to decode"),
        ],
        ids=[
            "text",
            "half",
            "object",
            "string",
            "one",
            "four",
            "int-key",
            "null-field",
            "100000-deep",
        ],
    )
    def test_a_bad_line_is_a_clear_error_and_the_file_is_untouched(
        self, tmp_path: Path, line: bytes, why: str
    ) -> None:
        log_path = tmp_path / "store.log"
        content = b'["h","a",1]\n' + line + b'\n["h","a",2]\n'
        log_path.write_bytes(content)
        with pytest.raises(CorruptStoreLogError, match=f"line 2: {why}") as caught:
            DurableLog.open(log_path)
        assert caught.value.code == "STORE_LOG_CORRUPT"
        assert caught.value.message.startswith(f"corrupt store log: {log_path} line 2: ")
        assert isinstance(caught.value, ValueError)
        assert isinstance(caught.value, StoreCallError)
        assert log_path.read_bytes() == content
        # The lock was released: once the line is repaired, the log opens.
        log_path.write_bytes(b'["h","a",1]\n["h","a",2]\n')
        assert reopen(log_path) == {"h": {"a": 2}}

    def test_a_bad_last_line_with_its_newline_is_corrupt_not_torn(self, tmp_path: Path) -> None:
        log_path = tmp_path / "store.log"
        log_path.write_bytes(b'["h","a",1]\n["h"]\n')
        with pytest.raises(CorruptStoreLogError, match="line 2"):
            DurableLog.open(log_path)


class TestValues:
    @pytest.mark.parametrize("depth", [MAX_VALUE_DEPTH + 1, 995, 100_000])
    def test_too_deep_values_are_refused_before_writing(self, tmp_path: Path, depth: int) -> None:
        log_path = tmp_path / "store.log"
        with opened(log_path) as (log, _):
            log.append_set("h", "ok", nested(MAX_VALUE_DEPTH))
            size = log_path.stat().st_size
            for value in (nested(depth), {"a": nested(depth - 1)}):
                with pytest.raises(StoreCallError, match="nested deeper than 256") as caught:
                    log.append_set("h", "deep", value)
                assert caught.value.code == "STORE_VALUE_REFUSED"
                assert str(log_path) in caught.value.message
            assert log_path.stat().st_size == size
            log.append_set("h", "after", 1)
        hashes = reopen(log_path)
        assert list(hashes["h"]) == ["ok", "after"]
        assert same_json(hashes["h"]["ok"], nested(MAX_VALUE_DEPTH))

    def test_brackets_in_strings_and_wide_values_are_not_depth(self, tmp_path: Path) -> None:
        log_path = tmp_path / "store.log"
        values = [
            "[" * 10_000,
            {"k": '\\"[[[[' * 1000},
            [[] for _ in range(10_000)],
            [{"a": [1]} for _ in range(1_000)],
        ]
        with opened(log_path) as (log, _):
            for index, value in enumerate(values):
                log.append_set("h", str(index), value)
        assert reopen(log_path) == {"h": {str(i): v for i, v in enumerate(values)}}

    def test_a_value_that_is_not_json_is_refused(self, tmp_path: Path) -> None:
        log_path = tmp_path / "store.log"
        with opened(log_path) as (log, _):
            with pytest.raises(StoreCallError, match="not JSON") as caught:
                log.append_set("h", "f", {"a": object()})
            assert caught.value.code == "STORE_VALUE_REFUSED"
            assert log_path.read_bytes() == b""

    def test_appending_to_a_closed_log_is_an_error(self, tmp_path: Path) -> None:
        log, _ = DurableLog.open(tmp_path / "store.log")
        log.close()
        log.close()
        with pytest.raises(ValueError, match="closed"):
            log.append_set("h", "f", 1)
        with pytest.raises(ValueError, match="closed"):
            log.maybe_compact({"h": {"f": 1}})


@contextlib.contextmanager
def as_nobody() -> Iterator[None]:
    """Drop the effective uid/gid to nobody (root bypasses file permissions), then restore."""
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


class TestOpenErrors:
    def test_a_missing_directory_names_the_given_path(self, tmp_path: Path) -> None:
        given = tmp_path / "no" / "such" / "store.log"
        with pytest.raises(StoreCallError) as caught:
            DurableLog.open(given)
        assert caught.value.code == "STORE_OPEN_FAILED"
        assert caught.value.message == (
            f"cannot open store log {given}: No such file or directory [ENOENT] "
            f"(directory {given.parent} does not exist)"
        )
        assert list(tmp_path.iterdir()) == []

    def test_a_directory_is_refused_and_nothing_is_created_beside_it(self, tmp_path: Path) -> None:
        directory = tmp_path / "data"
        directory.mkdir()
        with pytest.raises(StoreCallError) as caught:
            DurableLog.open(directory)
        assert caught.value.code == "STORE_OPEN_FAILED"
        assert caught.value.message == f"cannot open store log {directory}: Is a directory [EISDIR]"
        assert list(tmp_path.iterdir()) == [directory]

    def test_a_fifo_is_refused(self, tmp_path: Path) -> None:
        fifo = tmp_path / "pipe"
        os.mkfifo(fifo)
        with pytest.raises(StoreCallError, match=f"cannot open store log {fifo}: not a regular"):
            DurableLog.open(fifo)

    def test_permission_problems_name_the_given_path(self) -> None:
        # A directory of its own under /tmp (pytest's are 0700 and shared with other runs), so
        # that only the permissions set here decide.
        directory = Path(tempfile.mkdtemp(prefix="iii-durable-log-"))
        try:
            os.chmod(directory, 0o755)
            unreadable = directory / "root.log"
            unreadable.write_bytes(b'["h","a",1]\n')
            os.chmod(unreadable, 0o600)
            nobodys = directory / "nobody.log"  # nobody may write it, not create its lock file
            nobodys.write_bytes(b'["h","a",1]\n')
            os.chown(nobodys, 65534, 65534)
            expected = {
                directory / "new.log": "Permission denied [EACCES]",
                unreadable: "Permission denied [EACCES]",
                nobodys: f"Permission denied [EACCES] (lock file {nobodys}.lock)",
            }
            with as_nobody():
                for given, why in expected.items():
                    with pytest.raises(StoreCallError) as caught:
                        DurableLog.open(given)
                    assert caught.value.code == "STORE_OPEN_FAILED"
                    assert caught.value.message == f"cannot open store log {given}: {why}"
            assert sorted(p.name for p in directory.iterdir()) == ["nobody.log", "root.log"]
        finally:
            shutil.rmtree(directory)


class TestLock:
    def test_a_second_open_in_this_process_is_refused_with_the_pid(self, tmp_path: Path) -> None:
        log_path = tmp_path / "store.log"
        with opened(log_path) as (log, _):
            log.append_set("h", "a", 1)
            with pytest.raises(StoreCallError) as caught:
                DurableLog.open(log_path)
            assert caught.value.code == "STORE_LOCKED"
            assert caught.value.message.startswith(
                f"store log {log_path} is locked by pid {os.getpid()} "
            )
            log.append_set("h", "b", 2)  # the refused opener changed nothing
        assert reopen(log_path) == {"h": {"a": 1, "b": 2}}

    def test_the_lock_survives_compaction(self, tmp_path: Path) -> None:
        log_path = tmp_path / "store.log"
        hashes: dict[str, dict[str, Any]] = {"h": {}}
        with opened(log_path, compact_min_bytes=0, compact_ratio=1.0) as (log, _):
            for i in range(5):
                log.append_set("h", "a", i)
                hashes["h"]["a"] = i
                inode = log_path.stat().st_ino
                log.maybe_compact(hashes)
                assert log_path.stat().st_ino != inode  # compacted: a new file
                with pytest.raises(StoreCallError, match="is locked by pid"):
                    DurableLog.open(log_path)
        assert reopen(log_path) == {"h": {"a": 4}}


class TestCompaction:
    def test_100k_increments_of_one_key_leave_a_small_log(self, tmp_path: Path) -> None:
        log_path = tmp_path / "store.log"
        hashes: dict[str, dict[str, Any]] = {"stream:s:g": {}}
        largest = 0
        with opened(log_path) as (log, _):
            for n in range(100_000):
                value = {"n": n}
                log.append_set("stream:s:g", "counter", value)
                hashes["stream:s:g"]["counter"] = value
                log.maybe_compact(hashes)
                largest = max(largest, log_path.stat().st_size) if n % 1000 == 0 else largest
        record = len(b'["stream:s:g","counter",{"n":99999}]\n')
        assert log_path.stat().st_size <= COMPACT_MIN_BYTES + record
        assert largest <= COMPACT_MIN_BYTES + record
        assert reopen(log_path) == {"stream:s:g": {"counter": {"n": 99_999}}}
        assert log_path.stat().st_size == record

    def test_online_compaction_waits_for_its_threshold(self, tmp_path: Path) -> None:
        log_path = tmp_path / "store.log"
        hashes: dict[str, dict[str, Any]] = {"h": {}}
        with opened(log_path, compact_min_bytes=1000, compact_ratio=3.0) as (log, _):
            inode = log_path.stat().st_ino
            for _ in range(100):
                log.append_set("h", "a", "x" * 40)
                hashes["h"]["a"] = "x" * 40
                size = log_path.stat().st_size
                log.maybe_compact(hashes)
                if size > 1000:
                    break
                assert log_path.stat().st_ino == inode
            # Past 1000 bytes: compacted to the one live record.
            assert log_path.stat().st_ino != inode
            assert log_path.read_bytes() == b'["h","a","' + b"x" * 40 + b'"]\n'
            # Next threshold: max(1000, 3 x 51 bytes) -- a growing live set is not rewritten
            # before the log has grown by the ratio.
            inode = log_path.stat().st_ino
            for i in range(15):
                log.append_set("h", f"k{i}", i)
                hashes["h"][f"k{i}"] = i
                log.maybe_compact(hashes)
            assert log_path.stat().st_ino == inode

    @pytest.mark.parametrize("mode", [0o600, 0o640])
    def test_compaction_keeps_the_mode_and_owner(self, tmp_path: Path, mode: int) -> None:
        log_path = tmp_path / "store.log"
        log_path.write_bytes(b'["h","a",1]\n["h","a",2]\n')
        os.chmod(log_path, mode)
        os.chown(log_path, 65534, 65534)  # nobody's file, opened by root
        inode = log_path.stat().st_ino
        with opened(log_path, compact_min_bytes=0, compact_ratio=1.0) as (log, hashes):
            assert log_path.stat().st_ino != inode  # compacted on open
            assert stat.S_IMODE(log_path.stat().st_mode) == mode
            assert (log_path.stat().st_uid, log_path.stat().st_gid) == (65534, 65534)
            inode = log_path.stat().st_ino
            log.append_set("h", "a", 3)
            hashes["h"]["a"] = 3
            log.maybe_compact(hashes)
            assert log_path.stat().st_ino != inode  # compacted online
            assert stat.S_IMODE(log_path.stat().st_mode) == mode
            assert (log_path.stat().st_uid, log_path.stat().st_gid) == (65534, 65534)
        assert reopen(log_path) == {"h": {"a": 3}}

    def test_compaction_follows_a_symlink_and_keeps_it(self, tmp_path: Path) -> None:
        data = tmp_path / "data"
        data.mkdir()
        target = data / "real.log"
        target.write_bytes(b'["h","a",1]\n["h","a",2]\n')
        link = tmp_path / "store.log"
        link.symlink_to(target)
        with opened(link, compact_min_bytes=0, compact_ratio=1.0) as (log, hashes):
            assert hashes == {"h": {"a": 2}}
            assert link.is_symlink()
            assert os.readlink(link) == str(target)
            assert target.read_bytes() == b'["h","a",2]\n'
            log.append_set("h", "b", 3)
            hashes["h"]["b"] = 3
            log.maybe_compact(hashes)
            assert link.is_symlink()
            assert target.read_bytes() == b'["h","a",2]\n["h","b",3]\n'
            # One lock for both names: it sits beside the target.
            with pytest.raises(StoreCallError, match=f"store log {target} is locked"):
                DurableLog.open(target)
        assert sorted(p.name for p in data.iterdir()) == ["real.log", "real.log.lock"]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "store.log"]
        assert reopen(link) == {"h": {"a": 2, "b": 3}}

    def test_compaction_writes_what_it_is_given_in_order(self, tmp_path: Path) -> None:
        log_path = tmp_path / "store.log"
        with opened(log_path, compact_min_bytes=0, compact_ratio=1.0) as (log, _):
            big = {"x": "y" * 2_000_000}  # more than one 1 MiB chunk
            live: dict[str, dict[str, Any]] = {
                "h2": {"b": 1, "a": big},
                "empty": {},
                "h1": {"z": None},
            }
            for key, fields in live.items():
                for field, value in fields.items():
                    log.append_set(key, field, value)
            log.append_set("h1", "gone", 1)
            log.append_delete("h1", "gone")
            log.maybe_compact(live)
            assert log_path.stat().st_size < 2_000_100
        assert order(reopen(log_path)) == [("h2", ["b", "a"]), ("h1", ["z"])]
