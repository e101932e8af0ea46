"""Per-item locks: writers of one item inside one process take turns.

Rules: correctness never depends on these locks (every write is a compare-and-set); they only
keep the writers of one hot item in this process from failing each other's compare-and-sets,
so that contention costs a queue, not retries. A call holds one item's lock at a time, so no
two calls can wait on each other in a cycle.

- Sync: ``acquire(item)`` / ``release(item)`` (a bare pair, as this is on every write's path)
  take one of :data:`STRIPES` locks, chosen by the item's hash: a fixed set, so nothing is
  created or counted per write; two items that share a stripe only wait for each other.
- Async: ``async with hold(item)`` (``None`` takes no lock). An ``asyncio.Lock`` binds to the
  loop that first waits on it, so these are made per item while someone holds or waits for it
  (memory follows the items being written at the moment, not those ever written).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

__all__ = ["AsyncItemLocks", "ItemLocks"]

Item = tuple[str, str]


STRIPES: Final = 128


class ItemLocks:
    def __init__(self) -> None:
        self._stripes = tuple(threading.Lock() for _ in range(STRIPES))

    def acquire(self, item: Item) -> None:
        self._stripes[hash(item) % STRIPES].acquire()

    def release(self, item: Item) -> None:
        self._stripes[hash(item) % STRIPES].release()


class AsyncItemLocks:
    def __init__(self) -> None:
        self._locks: dict[Item, tuple[asyncio.Lock, int]] = {}
        self._guard = threading.Lock()

    @asynccontextmanager
    async def hold(self, item: Item | None) -> AsyncIterator[None]:
        if item is None:
            yield
            return
        lock = self._enter(item)
        try:
            async with lock:
                yield
        finally:
            self._leave(item)

    def _enter(self, item: Item) -> asyncio.Lock:
        with self._guard:
            lock, users = self._locks.get(item) or (asyncio.Lock(), 0)
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
