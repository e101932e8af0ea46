"""One asynchronous face over every store the server can serve: ``MemoryStore``, ``RedisStore``
and ``AsyncRedisStore``.

Rules: a binding. A ``MemoryStore`` is called on the event loop (a call is a few memory
operations and, with a log file, one ``write(2)``), so calls made through the server keep their
order; any other synchronous store (``RedisStore``) in a worker thread, so that a slow or
unreachable Redis never stalls the loop; an ``AsyncRedisStore`` is awaited. Change events reach
the loop through ``call_soon_threadsafe`` whichever thread the store delivers them on (a
``MemoryStore`` written by another thread of the process, ``RedisStore``'s listener thread), in
the order the store delivers them.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from iii_core.backends import ChangeEvent, MemoryStore, Store

if TYPE_CHECKING:
    from iii_core.backends.redis_async import AsyncRedisStore

__all__ = ["StoreLink"]


class StoreLink:
    """The served store, as coroutines."""

    def __init__(self, store: Store | AsyncRedisStore) -> None:
        self.store = store
        self._unwatch: Callable[[], None] | None = None

    async def call(self, function_id: str, payload: Any) -> Any:
        store = self.store
        if isinstance(store, MemoryStore):
            return store.call(function_id, payload)
        if isinstance(store, Store):
            return await asyncio.to_thread(store.call, function_id, payload)
        return await store.call(function_id, payload)

    async def watch(self, deliver: Callable[[ChangeEvent], None]) -> None:
        """Run ``deliver(event)`` on the running loop for every change event, until
        :meth:`unwatch`."""
        loop = asyncio.get_running_loop()
        loop_thread = threading.get_ident()

        def handler(event: ChangeEvent) -> None:
            # On the loop's own thread (a call made through the server), no self-pipe wake-up.
            if threading.get_ident() == loop_thread:
                loop.call_soon(deliver, event)
            else:
                loop.call_soon_threadsafe(deliver, event)

        unwatch = self.store.watch(handler)
        self._unwatch = await unwatch if inspect.isawaitable(unwatch) else unwatch

    def unwatch(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None

    async def sync_events(self, timeout: float = 5.0) -> None:
        """Return once every change event published before the call has been handed to
        ``deliver`` (its callbacks are queued on the loop ahead of this coroutine's wake-up)."""
        store = self.store
        if isinstance(store, Store):
            await asyncio.to_thread(store.sync_events, timeout)
        else:
            await store.sync_events(timeout)
        await asyncio.sleep(0)
