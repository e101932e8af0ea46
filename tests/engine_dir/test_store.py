"""``EngineDirStore`` on real directories: a data directory as the engine leaves it round-trips
byte for byte, writes are durable at once (kill -9), one process at a time, files changed
behind our back are never overwritten, unreadable files are reported by name and a full disk
loses nothing."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iii_core.backends._engine_dir_format import (
    archive_text,
    decode_index_file,
    encode_index_file,
)
from iii_core.backends.engine_dir import EngineDirStore, engine_processes
from iii_core.store import StoreCallError
from tests.engine_dir.test_format import LARGE, NESTED, NESTED_ITEMS, SMALL

ITEM = {"stream_name": "chat", "group_id": "room-1", "item_id": "m1"}


def engine_data_dir(root: Path) -> Path:
    """A data directory as the engine's two kv workers leave it (stream_store/ and
    state_store.db/, files named and written as kv.rs persist_index_to_disk writes them)."""
    streams, state = root / "stream_store", root / "state_store.db"
    streams.mkdir(parents=True)
    state.mkdir()
    (streams / "stream%3Achat%3Aroom-1.bin").write_bytes(NESTED)
    (streams / "stream%3Achat%3Aroom%202%2F%C3%BC.bin").write_bytes(SMALL)  # group "room 2/ü"
    (streams / "stream%3Alog%3Aall.bin").write_bytes(LARGE)
    (state / "user%3A42.bin").write_bytes(encode_index_file({"name": "Ada", "n": 1.5e16}))
    (state / "counters.bin").write_bytes(archive_text(b'{"hits":3,"misses":0}'))
    return root


def files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".iii-core.lock"
    }


def test_an_engine_directory_round_trips(tmp_path: Path) -> None:
    root = engine_data_dir(tmp_path / "data")
    before = files(root)
    inodes = {name: (root / name).stat().st_ino for name in before}
    with EngineDirStore(root) as store:
        assert store.unreadable == {} and store.skipped == {}
        assert store.call("stream::get", {**ITEM, "item_id": "é😀"}) == NESTED_ITEMS["é😀"]
        assert store.call("stream::list", {"stream_name": "chat", "group_id": "room-1"}) == list(
            NESTED_ITEMS.values()
        )
        assert sorted(store.call("stream::list_groups", {"stream_name": "chat"})) == [
            "room 2/ü",
            "room-1",
        ]
        assert store.call("state::get", {"scope": "user:42", "key": "n"}) == 1.5e16
        assert sorted(store.call("state::list_groups", {})["groups"]) == ["counters", "user:42"]
        assert (
            store.call("stream::get", {"stream_name": "log", "group_id": "all", "item_id": "big"})
            == "x" * 69_990
        )
        store.call(
            "state::update",
            {
                "scope": "counters",
                "key": "hits",
                "ops": [{"type": "increment", "path": "", "by": 1}],
            },
        )
        store.call(
            "state::set", {"scope": "counters", "key": "new", "value": {"b": [1e21], "a": "ü"}}
        )
    after = files(root)
    # Unchanged indexes: the same bytes, never even rewritten (same inode).
    for name in before:
        if name != "state_store.db/counters.bin":
            assert after[name] == before[name]
            assert (root / name).stat().st_ino == inodes[name]
    # The changed one: exactly what the engine would write (insertion order, sorted nested keys,
    # zmij floats, raw UTF-8).
    assert after["state_store.db/counters.bin"] == archive_text(
        b'{"hits":4,"misses":0,"new":{"a":"\xc3\xbc","b":[1e+21]}}'
    )
    assert set(after) == set(before)
    with EngineDirStore(root) as reopened:
        assert reopened.call("state::list", {"scope": "counters"}) == [
            4,
            0,
            {"a": "ü", "b": [1e21]},
        ]


def test_file_names_are_the_engines_percent_encoding(tmp_path: Path) -> None:
    root = tmp_path / "data"
    with EngineDirStore(root) as store:
        store.call(
            "stream::set", {"stream_name": "a b", "group_id": "ü/1", "item_id": "x", "data": 1}
        )
        store.call("state::set", {"scope": "my scope:1", "key": "k", "value": True})
    assert sorted(os.listdir(root / "stream_store")) == [
        ".iii-core.lock",
        "stream%3Aa%20b%3A%C3%BC%2F1.bin",
    ]
    assert sorted(os.listdir(root / "state_store.db")) == [".iii-core.lock", "my%20scope%3A1.bin"]
    assert decode_index_file((root / "state_store.db" / "my%20scope%3A1.bin").read_bytes()) == {
        "k": True
    }


def test_an_emptied_group_loses_its_file_and_stays_listed_until_reopen(tmp_path: Path) -> None:
    root = engine_data_dir(tmp_path / "data")
    group = root / "stream_store" / "stream%3Achat%3Aroom%202%2F%C3%BC.bin"
    where = {"stream_name": "chat", "group_id": "room 2/ü"}
    with EngineDirStore(root) as store:
        assert store.call("stream::delete", {**where, "item_id": "a"}) == {"old_value": 1}
        assert not group.exists()  # kv.rs: DirtyOp::Delete removes the file
        assert store.call("stream::list", where) == []
        assert "room 2/ü" in store.call("stream::list_groups", {"stream_name": "chat"})
        # An item added back writes the file again.
        store.call("stream::set", {**where, "item_id": "b", "data": None})
        assert decode_index_file(group.read_bytes()) == {"b": None}
        store.call("stream::delete", {**where, "item_id": "b"})
    with EngineDirStore(root) as store:
        assert "room 2/ü" not in store.call("stream::list_groups", {"stream_name": "chat"})


def test_large_values_and_unicode_round_trip(tmp_path: Path) -> None:
    value = {
        "text": "ü€😀\u2028\x00" * 50_000,
        "list": list(range(20_000)),
        "f": [0.1, -0.0, 5e-324],
    }
    with EngineDirStore(tmp_path / "data") as store:
        store.call("stream::set", {**ITEM, "data": value})
    path = tmp_path / "data" / "stream_store" / "stream%3Achat%3Aroom-1.bin"
    assert path.stat().st_size > 1_000_000
    with EngineDirStore(tmp_path / "data") as store:
        got = store.call("stream::get", ITEM)
    assert got == value and str(got["f"][1]) == "-0.0"


def python(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_kill_9_loses_no_acknowledged_write(tmp_path: Path) -> None:
    root = tmp_path / "data"
    child = python(
        """
        import sys
        from iii_core.backends.engine_dir import EngineDirStore
        store = EngineDirStore(sys.argv[1])
        i = 0
        while True:
            store.call("state::set", {"scope": "s", "key": f"k{i}", "value": {"i": i, "pad": "x" * 256}})
            store.call("stream::update", {"stream_name": "s", "group_id": "g", "item_id": "c",
                                          "ops": [{"type": "increment", "path": "n", "by": 1}]})
            print(i, flush=True)
            i += 1
        """,
        str(root),
    )
    assert child.stdout is not None
    acknowledged = -1
    while acknowledged < 200:
        acknowledged = int(child.stdout.readline())
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    with EngineDirStore(root) as store:
        assert store.unreadable == {}
        for i in range(acknowledged + 1):
            assert store.call("state::get", {"scope": "s", "key": f"k{i}"})["i"] == i
        counter = store.call("stream::get", {"stream_name": "s", "group_id": "g", "item_id": "c"})
        assert counter["n"] >= acknowledged + 1


def test_a_second_process_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    root = tmp_path / "data"
    with EngineDirStore(root) as store:
        store.call("stream::set", {**ITEM, "data": 1})
        child = python(
            """
            import sys
            from iii_core.backends.engine_dir import EngineDirStore
            from iii_core.store import StoreCallError
            try:
                EngineDirStore(sys.argv[1])
            except StoreCallError as exc:
                print(exc.code, exc.message)
            """,
            str(root),
        )
        out, _ = child.communicate(timeout=60)
        assert out.startswith("STORE_LOCKED ")
        assert f"pid {os.getpid()}" in out and "stream_store" in out
    # Released on close: the next opener gets it.
    with EngineDirStore(root) as store:
        assert store.call("stream::get", ITEM) == 1


def engine_like_write(path: Path, items: dict[str, Any]) -> None:
    """What the engine's save loop does to an index file, from another process: write
    NAME.bin.tmp, rename it over NAME.bin (kv.rs persist_index_to_disk)."""
    child = python(
        """
        import os, sys, json
        from iii_core.backends._engine_dir_format import encode_index_file
        path = sys.argv[1]
        with open(path + ".tmp", "wb") as f:
            f.write(encode_index_file(json.loads(sys.argv[2])))
        os.replace(path + ".tmp", path)
        """,
        str(path),
        __import__("json").dumps(items),
    )
    assert child.wait(timeout=60) == 0


def test_a_file_rewritten_behind_our_back_is_never_overwritten(tmp_path: Path) -> None:
    root = engine_data_dir(tmp_path / "data")
    counters = root / "state_store.db" / "counters.bin"
    with EngineDirStore(root) as store:
        engine_like_write(counters, {"hits": 100})
        with pytest.raises(StoreCallError) as refused:
            store.call("state::set", {"scope": "counters", "key": "hits", "value": 4})
        assert refused.value.code == "STORE_CONFLICT"
        assert str(counters) in refused.value.message and "iii engine" in refused.value.message
        assert decode_index_file(counters.read_bytes()) == {"hits": 100}
        # Nothing changed in memory either, and other indexes still take writes.
        assert store.call("state::get", {"scope": "counters", "key": "hits"}) == 3
        store.call("state::set", {"scope": "user:42", "key": "name", "value": "Grace"})
        # A file deleted or created behind our back is refused the same way.
        (root / "state_store.db" / "user%3A42.bin").unlink()
        engine_like_write(root / "state_store.db" / "fresh.bin", {"k": 1})
        for scope in ("user:42", "fresh"):
            with pytest.raises(StoreCallError, match="changed on disk"):
                store.call("state::set", {"scope": scope, "key": "k", "value": 2})
    assert decode_index_file((root / "state_store.db" / "fresh.bin").read_bytes()) == {"k": 1}


def test_unreadable_files_are_reported_by_name_and_never_overwritten(tmp_path: Path) -> None:
    root = engine_data_dir(tmp_path / "data")
    broken = root / "stream_store" / "stream%3Achat%3Abroken.bin"
    broken.write_bytes(b"not an archive")
    skipped = {
        root / "stream_store" / "%ZZ.bin": b"x",
        root / "stream_store" / "stream%3Achat%3Aother.bin.tmp": b"half",
        root / "stream_store" / "elsewhere.bin": SMALL,  # not a stream index
        root
        / "state_store.db"
        / ".bin": SMALL,  # the empty scope's file: the engine never loads it
    }
    for path, data in skipped.items():
        path.write_bytes(data)
    with EngineDirStore(root) as store:
        assert list(store.unreadable) == [str(broken)]
        assert "not 4-aligned" in store.unreadable[str(broken)]
        assert set(store.skipped) == {str(p) for p in skipped}
        where = {"stream_name": "chat", "group_id": "broken"}
        for function_id, payload in [
            ("stream::get", {**where, "item_id": "a"}),
            ("stream::list", where),
            ("stream::set", {**where, "item_id": "a", "data": 1}),
            ("stream::delete", {**where, "item_id": "a"}),
        ]:
            with pytest.raises(StoreCallError) as failed:
                store.call(function_id, payload)
            assert failed.value.code == "STORE_BAD_DATA"
            assert str(broken) in failed.value.message
        assert "broken" in store.call("stream::list_groups", {"stream_name": "chat"})
        store.call("stream::set", {**ITEM, "data": "still fine"})
        with pytest.raises(StoreCallError, match="changed on disk"):
            store.call("state::set", {"scope": "", "key": "k", "value": 1})
    assert broken.read_bytes() == b"not an archive"
    for path, data in skipped.items():
        assert path.read_bytes() == data


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr!r}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def test_a_full_disk_is_a_clear_error_that_loses_nothing(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk", "256k") as disk, EngineDirStore(disk) as store:
        store.call("stream::set", {**ITEM, "data": {"n": 1}})
        path = disk / "stream_store" / "stream%3Achat%3Aroom-1.bin"
        before = path.read_bytes()
        with pytest.raises(StoreCallError) as failed:
            store.call("stream::set", {**ITEM, "item_id": "big", "data": "x" * 300_000})
        assert failed.value.code == "STORE_WRITE_FAILED"
        assert str(path) in failed.value.message and "No space left" in failed.value.message
        assert path.read_bytes() == before
        assert not path.with_name(path.name + ".tmp").exists()
        assert store.call("stream::get", {**ITEM, "item_id": "big"}) is None
        assert store.call("stream::list", {"stream_name": "chat", "group_id": "room-1"}) == [
            {"n": 1}
        ]
        # Once space is there again, writes go on.
        store.call("stream::set", {**ITEM, "item_id": "small", "data": "x" * 1000})
        assert list(decode_index_file(path.read_bytes())) == ["m1", "small"]


def test_fsync_mode_and_the_deepest_value_the_engine_loads_again(tmp_path: Path) -> None:
    deepest: Any = []
    for _ in range(125):
        deepest = [deepest]  # 126 levels: with the index's own map, serde_json's 127
    with EngineDirStore(tmp_path / "data", fsync=True) as store:
        store.call("state::set", {"scope": "s", "key": "deep", "value": deepest})
        with pytest.raises(StoreCallError) as failed:
            store.call("state::set", {"scope": "s", "key": "deeper", "value": [deepest]})
        assert failed.value.code == "deserialization_error"
    with EngineDirStore(tmp_path / "data") as store:
        assert store.call("state::list", {"scope": "s"}) == [deepest]
    with pytest.raises(StoreCallError, match="must differ"):
        EngineDirStore(streams=tmp_path / "one", state=tmp_path / "one")


def test_threads_increment_exactly_and_the_file_agrees(tmp_path: Path) -> None:
    increment = {**ITEM, "ops": [{"type": "increment", "path": "n", "by": 1}]}
    with EngineDirStore(tmp_path / "data") as store:
        threads = [
            threading.Thread(
                target=lambda: [store.call("stream::update", increment) for _ in range(200)]
            )
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert store.call("stream::get", ITEM) == {"n": 800}
    path = tmp_path / "data" / "stream_store" / "stream%3Achat%3Aroom-1.bin"
    assert decode_index_file(path.read_bytes()) == {"m1": {"n": 800}}


def test_a_directory_that_cannot_be_opened_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(StoreCallError) as failed:
        EngineDirStore(tmp_path / "file")
    assert failed.value.code == "STORE_OPEN_FAILED"
    assert str(tmp_path / "file" / "stream_store") in failed.value.message


def test_numbers_the_engine_holds_as_f64_and_one_it_cannot_hold(tmp_path: Path) -> None:
    with EngineDirStore(tmp_path / "data") as store:
        store.call("state::set", {"scope": "s", "key": "big", "value": 2**64})
        # Held as the engine holds it (serde_json reads it as an f64), as after reopening.
        assert store.call("state::get", {"scope": "s", "key": "big"}) == 2.0**64
        assert type(store.call("state::get", {"scope": "s", "key": "big"})) is float
        with pytest.raises(StoreCallError) as failed:
            store.call("state::set", {"scope": "s", "key": "huge", "value": 10**400})
        assert failed.value.code == "STORE_WRITE_FAILED"
        assert "f64 range" in failed.value.message
        assert store.call("state::get", {"scope": "s", "key": "huge"}) is None
    with EngineDirStore(tmp_path / "data") as store:
        big = store.call("state::get", {"scope": "s", "key": "big"})
        assert type(big) is float and big == 2.0**64


def test_a_running_engine_in_the_app_directory_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A real process named like the engine's binary ("iii"), in the app's directory, as
    # `iii` is started next to its config with file_path ./data/...
    app = tmp_path / "app"
    app.mkdir()
    binary = tmp_path / "iii"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", binary)
    engine = subprocess.Popen([str(binary), "60"], cwd=app)
    try:
        # Popen may return before the child has exec'd (its name is still python's): wait.
        comm = Path(f"/proc/{engine.pid}/comm")
        deadline = time.monotonic() + 20
        while comm.read_text().strip() != "iii":
            assert time.monotonic() < deadline, "the fake engine never started"
            time.sleep(0.01)
        assert engine_processes((app / "data" / "stream_store",)) == [(engine.pid, str(app))]
        assert engine_processes((tmp_path / "elsewhere",)) == []
        with caplog.at_level(logging.WARNING), EngineDirStore(app / "data"):
            pass
        assert f"an iii engine process (pid {engine.pid}, working directory {app})" in caplog.text
    finally:
        engine.kill()
        engine.wait(timeout=10)
    assert engine_processes((app / "data" / "stream_store",)) == []
