"""DurableLog under real faults: a full disk (a real 256 KiB tmpfs, mounted here as root), a
second process, and processes killed with SIGKILL while they hold the lock or compact."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from iii_core.backends._durable_log import DurableLog
from iii_core.store import StoreCallError
from tests.backends.test_durable_log import opened, reopen


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 256 KiB tmpfs. Not being able to mount one is a failure, never a skip."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a 256 KiB tmpfs (this test needs root): {mounted.stderr}")
    try:
        yield mount_point
    finally:
        if subprocess.run(["umount", str(mount_point)], check=False).returncode != 0:
            # Something still holds a file there: detach it anyway, never leave a mount behind.
            subprocess.run(["umount", "--lazy", str(mount_point)], check=True)
            pytest.fail(f"{mount_point} was still in use after the test")


def line(hash_key: str, field: str, value: Any) -> bytes:
    return msgspec.json.encode([hash_key, field, value]) + b"\n"


def fill(path: Path, leave: int) -> None:
    """Write a file that leaves about ``leave`` bytes free on ``path``'s filesystem."""
    free = os.statvfs(path.parent).f_bavail * os.statvfs(path.parent).f_frsize
    path.write_bytes(b"\0" * max(0, free - leave))


class TestFullDisk:
    @pytest.mark.parametrize("fsync", [False, True], ids=["no-fsync", "fsync"])
    def test_a_write_that_does_not_fit_is_refused_whole_and_the_log_recovers(
        self, small_disk: Path, fsync: bool
    ) -> None:
        log_path = small_disk / "store.log"
        filler = small_disk / "filler"
        filler.write_bytes(b"\0" * 64 * 1024)
        acknowledged: dict[str, Any] = {}
        with opened(log_path, fsync=fsync) as (log, _):
            refused = None
            for i in range(1000):
                # 1,037-byte records: the one that does not fit is partly written by the
                # kernel (a short write) before ENOSPC, and must be cut back.
                value = {"i": i, "pad": "x" * 1000}
                try:
                    log.append_set("h", f"k{i}", value)
                except StoreCallError as error:
                    refused = error
                    break
                acknowledged[f"k{i}"] = value
            assert refused is not None, "the 256 KiB disk never filled up"
            assert refused.code == "STORE_WRITE_FAILED"
            assert refused.message == (
                f"cannot write store log {log_path}: No space left on device [ENOSPC]; "
                "the write was not made"
            )
            written = b"".join(line("h", k, v) for k, v in acknowledged.items())
            assert log_path.read_bytes() == written  # no half record at the end
            with pytest.raises(StoreCallError, match="No space left on device"):
                log.append_set("h", "again", {"pad": "x" * 5000})
            assert log_path.read_bytes() == written
            filler.unlink()  # space returns
            log.append_delete("h", "k0")
            log.append_set("h", "after", {"ok": True})
        del acknowledged["k0"]
        acknowledged["after"] = {"ok": True}
        assert reopen(log_path) == {"h": acknowledged}

    def test_a_compaction_that_does_not_fit_keeps_the_old_log(
        self, small_disk: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        log_path = small_disk / "store.log"
        hashes: dict[str, dict[str, Any]] = {"h": {}}
        with opened(log_path, compact_min_bytes=0, compact_ratio=1.0) as (log, _):
            for i in range(100):  # 50 live fields of 1 KiB, 50 overwritten
                value = {"i": i, "pad": "x" * 1000}
                log.append_set("h", f"k{i % 50}", value)
                hashes["h"][f"k{i % 50}"] = value
            before = log_path.read_bytes()
            inode = log_path.stat().st_ino
            fill(small_disk / "filler", leave=16 * 1024)  # room for appends, not a 50 KiB copy
            with caplog.at_level(logging.WARNING, logger="iii_core.backends._durable_log"):
                log.maybe_compact(hashes)
            assert f"store log {log_path}: compaction failed" in caplog.text
            assert "No space left on device" in caplog.text
            assert log_path.stat().st_ino == inode
            assert log_path.read_bytes() == before
            assert sorted(p.name for p in small_disk.iterdir()) == [
                "filler",
                "store.log",
                "store.log.lock",
            ]
            log.append_set("h", "k0", 0)  # the old log keeps working
            hashes["h"]["k0"] = 0
            (small_disk / "filler").unlink()
            log.append_set("h", "k1", 1)
            hashes["h"]["k1"] = 1
            log.maybe_compact(hashes)  # retried now that the log has grown past its threshold
            assert log_path.stat().st_ino != inode
            assert log_path.read_bytes() == b"".join(
                line("h", k, v) for k, v in hashes["h"].items()
            )
        assert reopen(log_path) == hashes


def python(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


HOLDER = """
    import sys
    from iii_core.backends._durable_log import DurableLog
    log, hashes = DurableLog.open(sys.argv[1])
    log.append_set("h", "child", 1)
    print("ready", flush=True)
    sys.stdin.readline()
    log.append_set("h", "after", 2)
    log.close()
    print("closed", flush=True)
    sys.stdin.readline()
"""


class TestSecondProcess:
    def test_a_second_process_is_refused_with_the_holders_pid(self, tmp_path: Path) -> None:
        log_path = tmp_path / "store.log"
        child = python(HOLDER, str(log_path))
        assert child.stdin is not None and child.stdout is not None
        try:
            assert child.stdout.readline() == "ready\n"
            with pytest.raises(StoreCallError) as caught:
                DurableLog.open(log_path)
            assert caught.value.code == "STORE_LOCKED"
            assert caught.value.message == (
                f"store log {log_path} is locked by pid {child.pid} (lock file "
                f"{log_path}.lock); one store at a time may have it open"
            )
            child.stdin.write("\n")
            child.stdin.flush()
            assert child.stdout.readline() == "closed\n"  # closed: the lock is free
            assert reopen(log_path) == {"h": {"child": 1, "after": 2}}
        finally:
            child.kill()
            child.wait(timeout=30)

    def test_a_holder_killed_with_sigkill_releases_the_lock(self, tmp_path: Path) -> None:
        log_path = tmp_path / "store.log"
        child = python(HOLDER, str(log_path))
        assert child.stdout is not None
        try:
            assert child.stdout.readline() == "ready\n"
            with pytest.raises(StoreCallError, match=f"locked by pid {child.pid} "):
                DurableLog.open(log_path)
        finally:
            child.kill()
            child.wait(timeout=30)
        assert reopen(log_path) == {"h": {"child": 1}}


COMPACTING_WRITER = """
    import sys
    from iii_core.backends._durable_log import DurableLog
    log, hashes = DurableLog.open(sys.argv[1], compact_min_bytes=64 * 1024, compact_ratio=1.5)
    fields = hashes.setdefault("h", {})
    acks = open(sys.argv[2], "a", buffering=1)
    n = int(sys.argv[3])
    while True:
        # 2,000 live fields of ~230 bytes: each compaction rewrites ~460 KB.
        field, value = f"k{n % 2000}", {"n": n, "pad": "x" * 200}
        log.append_set("h", field, value)
        fields[field] = value
        acks.write(f"{field} {n}\\n")
        log.maybe_compact(hashes)
        n += 1
"""


class TestKilledWhileCompacting:
    def test_sigkill_during_compaction_loses_no_acknowledged_write(self, tmp_path: Path) -> None:
        log_path = tmp_path / "store.log"
        staging = tmp_path / "store.log.compact"
        acks_path = tmp_path / "acks"
        last_acked: dict[str, int] = {}
        killed_mid_compaction = 0
        for round_number in range(40):
            acks_path.write_text("")
            child = python(
                COMPACTING_WRITER, str(log_path), str(acks_path), str(round_number * 10**7)
            )
            try:
                deadline = time.monotonic() + 60
                while not acks_path.read_text():
                    assert time.monotonic() < deadline, "the writer never started"
                    time.sleep(0.001)
                with pytest.raises(StoreCallError, match=f"locked by pid {child.pid} "):
                    DurableLog.open(log_path)
                while not staging.exists():
                    assert time.monotonic() < deadline, "the writer never compacted"
                    time.sleep(0.0002)
            finally:
                child.kill()
                child.wait(timeout=30)
            killed_mid_compaction += staging.exists()
            for ack in acks_path.read_text().splitlines(keepends=True):
                if ack.endswith("\n"):  # the last one may be torn by the kill
                    field, n = ack.split()
                    last_acked[field] = int(n)
            fields = reopen(log_path)["h"]  # opens: the old or the new file, whole
            assert not staging.exists()
            # Every acknowledged write is there; only the write in flight may be there too.
            assert last_acked.keys() <= fields.keys()
            unacknowledged = {f for f, v in fields.items() if v["n"] != last_acked.get(f)}
            assert len(unacknowledged) <= 1
            assert all(fields[f]["n"] > last_acked.get(f, -1) for f in unacknowledged)
            last_acked = {f: v["n"] for f, v in fields.items()}  # what the next round starts from
            if killed_mid_compaction >= 3:
                break
        assert killed_mid_compaction >= 3
