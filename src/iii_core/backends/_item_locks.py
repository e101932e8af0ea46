"""Per-item locks: writers of one item inside one process take turns.

Rules: correctness never depends on these locks (every write is a compare-and-set); they only
keep the writers of one hot item in this process from failing each other's compare-and-sets,
so that contention costs a queue, not retries. A lock exists only while someone holds or waits
for it, so memory follows the number of items being written at the moment, not the number of
items ever written. Sync: ``acquire(item)`` / ``release(item)`` (a bare pair, as this is on
every write's path); async: ``async with hold(item)``, where ``None`` takes no lock.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

__all__ = ["AsyncItemLocks", "ItemLocks"]

Item = tuple[str, str]
L = TypeVar("L", threading.Lock, asyncio.Lock)


class _Registry(Generic[L]):
    def __init__(self) -> None:
        self._locks: dict[Item, tuple[L, int]] = {}
        self._guard = threading.Lock()

    def _enter(self, item: Item, new: type[L]) -> L:
        with self._guard:
            lock, users = self._locks.get(item) or (new(), 0)
            self._locks[item] = (lock, users + 1)
            return lock

    def _leave(self, item: Item) -> None:
        with self._guard:
            lock, users = self._locks[item]
            if users == 1:
                del self._locks[item]
            else:
                self._locks[item] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class ItemLocks(_Registry[threading.Lock]):
    def acquire(self, item: Item) -> None:
        self._enter(item, threading.Lock).acquire()

    def release(self, item: Item) -> None:
        lock, _ = self._locks[item]
        lock.release()
        self._leave(item)


class AsyncItemLocks(_Registry[asyncio.Lock]):
    @asynccontextmanager
    async def hold(self, item: Item | None) -> AsyncIterator[None]:
        if item is None:
            yield
            return
        lock = self._enter(item, asyncio.Lock)
        try:
            async with lock:
                yield
        finally:
            self._leave(item)
