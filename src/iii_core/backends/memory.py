"""``MemoryStore``: the embedded store, in this process's memory, optionally durable to a file.

Rules: a binding: :class:`MemoryStorage`, a storage driver over dicts, driven by the core's call
flow like every other store. Thread-safe: one short lock guards the dicts; a compare-and-set
compares the stored object's identity (stored values are never mutated, so the same object is
the same value) and writes under that lock. Items keep insertion order, which is the order
``list`` returns (an overwrite keeps the item's place; a delete and re-create moves it to the
end), and a group or scope whose last item was deleted is still listed until the store is
reopened: both as in the engine's kv store. Change events are delivered to this store's
handlers in the writing thread before the call returns, in the order of the writes of each
item (writers of one item hold its lock through delivery).

Durability (``path=``): every acknowledged write is first appended to a log file
(:class:`~iii_core.backends._durable_log.DurableLog`: full records only, an exclusive lock, online
compaction, clear errors; see its docstring for what survives what). A write the log refuses
(``STORE_WRITE_FAILED`` on a full disk) changes nothing in memory and emits nothing. With
``fsync=True`` a call waits for the disk, so ``as_async()`` runs such calls in a worker thread
rather than on the event loop.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from iii_core.backends._base import ChangeEvent, LocalStore, wall_clock_ms
from iii_core.backends._durable_log import DurableLog
from iii_core.store import Changed, CompareAndSet, ListKeys, Publish, ReadField, ReadHash
from iii_core.update import MISSING

__all__ = ["MemoryStorage", "MemoryStore"]


class MemoryStorage:
    """The storage driver over ``{hash_key: {field: value}}``; stored forms are the values
    themselves. ``deliver`` receives the events of every applied write, outside the lock."""

    def __init__(
        self,
        hashes: dict[str, dict[str, Any]],
        deliver: Callable[[tuple[ChangeEvent, ...]], None],
        log: DurableLog | None = None,
    ) -> None:
        self._hashes = hashes
        self._deliver = deliver
        self._log = log
        self._lock = threading.Lock()

    def read_field(self, op: ReadField) -> Any:
        with self._lock:
            return self._hashes.get(op.hash_key, {}).get(op.field, MISSING)

    def read_hash(self, op: ReadHash) -> list[Any]:
        with self._lock:
            fields = self._hashes.get(op.hash_key, {})
            return list(fields.items() if op.fields else fields.values())

    def list_keys(self, op: ListKeys) -> list[str]:
        with self._lock:
            return [key for key in self._hashes if key.startswith(op.prefix)]

    def compare_and_set(self, op: CompareAndSet) -> Changed | None:
        with self._lock:
            fields = self._hashes.get(op.hash_key)
            current = MISSING if fields is None else fields.get(op.field, MISSING)
            if current is not op.expected:
                return Changed(current)
            if op.write:
                self._write(op.hash_key, op.field, op.new, fields)
        self._deliver(op.events)
        return None

    def _write(self, hash_key: str, field: str, new: Any, fields: dict[str, Any] | None) -> None:
        log = self._log
        if new is MISSING:
            if log is not None:
                log.append_delete(hash_key, field)
            if fields is not None:
                # An emptied hash stays (and keeps being listed) until the store is reopened,
                # as the engine's kv store keeps empty indexes until a restart.
                fields.pop(field, None)
        else:
            if log is not None:
                log.append_set(hash_key, field, new)
            self._hashes.setdefault(hash_key, {})[field] = new
        if log is not None:
            log.maybe_compact(self._hashes)

    def publish(self, op: Publish) -> None:
        self._deliver(op.events)

    def close(self) -> None:
        with self._lock:
            if self._log is not None:
                self._log.close()
                self._log = None


class MemoryStore(LocalStore):
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
        log: DurableLog | None = None
        hashes: dict[str, dict[str, Any]] = {}
        if path is not None:
            log, hashes = DurableLog.open(path, fsync=fsync)
        self._memory = MemoryStorage(hashes, self._deliver, log)
        super().__init__(self._memory, clock=clock, max_value_bytes=max_value_bytes)
        self.blocking = fsync

    def close(self) -> None:
        """Close the log file (a memory-only store has nothing to close)."""
        self._memory.close()

    def __enter__(self) -> MemoryStore:
        return self
