"""``MemoryStore``: the embedded store, in this process's memory, optionally durable to a file.

Rules: a binding over the pure core. Thread-safe: one lock serialises every write (read →
transition → write) and every read, as the engine's kv store holds its write lock across an
update. Items keep insertion order, which is the order ``list`` returns (an overwrite keeps the
item's place; a delete and re-create moves it to the end), and a group or scope whose last item
was deleted is still listed until the store is reopened: both as in the engine's kv store.

Durability (``path=``): an append-only log. Every acknowledged write is one ``write(2)`` of one
JSON line to a file opened with ``O_APPEND``, made before the call returns, so a crash of the
process (even ``kill -9``) loses no acknowledged write; with ``fsync=True`` each write is also
fsynced, so that a crash of the machine loses none either (otherwise it can lose what the OS had
not yet flushed). A torn last line, from a crash mid-write, is ignored when the log is replayed
on open. On open the log is compacted (rewritten as one line per live item, then renamed over
the old file atomically).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from iii_core.backends._base import ChangeEvent, Store, wall_clock_ms
from iii_core.store import Transition
from iii_core.update import MISSING

__all__ = ["MemoryStore"]

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


class MemoryStore(Store):
    """The embedded default store. ``MemoryStore()`` keeps everything in memory;
    ``MemoryStore("data.log")`` also logs every write to that file and replays it on open."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        fsync: bool = False,
        clock: Callable[[], int] = wall_clock_ms,
        max_value_bytes: int | None = None,
    ) -> None:
        super().__init__(clock=clock, max_value_bytes=max_value_bytes)
        self._lock = threading.RLock()
        self._hashes: dict[str, dict[str, Any]] = {}
        self._fsync = fsync
        self._log_fd: int | None = None
        if path is not None:
            self._open_log(Path(path))

    # -- durability ---------------------------------------------------------------------------

    def _open_log(self, path: Path) -> None:
        if path.exists():
            self._replay(path.read_bytes())
        compacted = path.with_name(path.name + ".compact")
        with open(compacted, "wb") as out:
            for hash_key, fields in self._hashes.items():
                for field, value in fields.items():
                    out.write(_encoder.encode([hash_key, field, value]) + b"\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(compacted, path)
        self._log_fd = os.open(path, os.O_WRONLY | os.O_APPEND)

    def _replay(self, data: bytes) -> None:
        lines = data.split(b"\n")
        for number, line in enumerate(lines):
            if not line:
                continue
            try:
                record = _decoder.decode(line)
            except msgspec.DecodeError:
                if number >= len(lines) - 2:
                    break  # the torn last record of a crash mid-write: never acknowledged
                raise ValueError(f"corrupt store log: line {number + 1} is not JSON") from None
            if len(record) == 3:
                self._hashes.setdefault(record[0], {})[record[1]] = record[2]
            else:
                self._remove(record[0], record[1])
        self._hashes = {key: fields for key, fields in self._hashes.items() if fields}

    def _log(self, record: list[Any]) -> None:
        if self._log_fd is None:
            return
        os.write(self._log_fd, _encoder.encode(record) + b"\n")
        if self._fsync:
            os.fsync(self._log_fd)

    def close(self) -> None:
        """Close the log file (a memory-only store has nothing to close)."""
        with self._lock:
            if self._log_fd is not None:
                os.close(self._log_fd)
                self._log_fd = None

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- storage primitives -----------------------------------------------------------------

    def _remove(self, hash_key: str, field: str) -> None:
        # An emptied hash stays (and keeps being listed by list_groups/list_all) until the
        # store is reopened, as the engine's kv store keeps empty indexes until a restart.
        fields = self._hashes.get(hash_key)
        if fields is not None:
            fields.pop(field, None)

    def _read_field(self, hash_key: str, field: str) -> Any:
        with self._lock:
            return self._hashes.get(hash_key, {}).get(field, MISSING)

    def _read_values(self, hash_key: str) -> list[Any]:
        with self._lock:
            return list(self._hashes.get(hash_key, {}).values())

    def _hash_keys(self, prefix: str) -> list[str]:
        with self._lock:
            return [key for key in self._hashes if key.startswith(prefix)]

    def _atomic_update(
        self, hash_key: str, field: str, compute: Callable[[Any], Transition]
    ) -> Transition:
        with self._lock:
            outcome = compute(self._hashes.get(hash_key, {}).get(field, MISSING))
            if outcome.write:
                if outcome.new is MISSING:
                    self._log([hash_key, field])
                    self._remove(hash_key, field)
                else:
                    self._log([hash_key, field, outcome.new])
                    self._hashes.setdefault(hash_key, {})[field] = outcome.new
        # Handlers run after the lock is released, so a slow handler never blocks other writers.
        self._deliver(outcome.events)
        return outcome

    def _publish(self, events: tuple[ChangeEvent, ...]) -> None:
        self._deliver(events)

    def sync_events(self, timeout: float = 5.0) -> None:
        """Nothing to wait for: handlers run in the writer's thread before its call returns."""
