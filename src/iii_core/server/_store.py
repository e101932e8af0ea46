"""One asynchronous face over every store the server can serve.

Rules: a binding. The server talks to ``store.as_async()``, which every store provides (an
``AsyncStore`` is itself; a synchronous store runs its calls on the loop when they never block,
an in-memory store without fsync, and in a worker thread otherwise), so there is no switch on
store kinds here. Change events reach ``deliver`` on the loop, in the order the store delivers
them: an event raised on the loop's own thread (an in-memory write made by the server, the
async Redis listener) is delivered at once, with no self-wake-up, unless earlier events from
other threads are still queued; events from other threads (a worker thread's write, the sync
Redis listener) are queued and handed over by one ``call_soon_threadsafe`` per batch. A store's
resync signal (its pub/sub connection dropped, so events may have been missed) goes through
the same queue, after the events delivered before it, to ``on_resync``.

Events are handed over without a copy (``private_copies=False``): the server only encodes them.
Besides ``watch`` (every event), ``subscribe`` hands over the events of one trigger config, so
that a server on Redis listens only to the groups its clients joined (see ``_routes``).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from iii_core.backends import AsyncStore, ChangeEvent, Store, TriggerConfig

__all__ = ["StoreLink"]

_RESYNC: Any = object()


class StoreLink:
    """The served store, as coroutines."""

    def __init__(self, store: Store | AsyncStore) -> None:
        self.store = store
        self._store = store.as_async()
        self._unwatch: Callable[[], None] | None = None
        self.inline_call_json = self._store.inline_call_json()
        """``call_json`` as a plain function when the store's calls never block (an
        in-memory store without fsync): a request is then answered at once, on the loop, with
        no task; ``None`` otherwise."""

    async def call(self, function_id: str, payload: Any) -> Any:
        """Run a call; the result is a private JSON value."""
        return await self._store.call(function_id, payload)

    async def call_json(self, function_id: str, payload_json: bytes) -> bytes:
        """Run a call from its JSON payload to its result's JSON, copying nothing."""
        return await self._store.call_json(function_id, payload_json)

    async def watch(
        self,
        deliver: Callable[[ChangeEvent], None],
        on_resync: Callable[[], None] | None = None,
    ) -> None:
        """Run ``deliver(event)`` on the running loop for every change event, and
        ``on_resync()`` when the store reports that events may have been missed, until
        :meth:`unwatch`."""
        self._unwatch = await self.subscribe(None, deliver, on_resync)

    def event_counts(self) -> dict[str, Any]:
        """The store's counts of events received from and decoded off Redis (empty for a
        store that receives none)."""
        counts = getattr(self.store, "event_counts", None)
        return dict(counts()) if counts is not None else {}

    async def subscribe(
        self,
        config: TriggerConfig | None,
        deliver: Callable[[ChangeEvent], None],
        on_resync: Callable[[], None] | None = None,
    ) -> Callable[[], None]:
        """As :meth:`watch`, for the events ``config`` matches (``None``: every event);
        returns ``unsubscribe``."""
        loop = asyncio.get_running_loop()
        loop_thread = threading.get_ident()
        queued: deque[Any] = deque()
        lock = threading.Lock()
        scheduled = False

        def hand_over(item: Any) -> None:
            if item is _RESYNC:
                if on_resync is not None:
                    on_resync()
            else:
                deliver(item)

        def drain() -> None:
            nonlocal scheduled
            while True:
                with lock:
                    if not queued:
                        scheduled = False
                        return
                    item = queued.popleft()
                hand_over(item)

        def receive(item: Any) -> None:
            nonlocal scheduled
            if threading.get_ident() == loop_thread:
                with lock:
                    direct = not queued
                    if not direct:
                        queued.append(item)
                if direct:
                    hand_over(item)
                return
            with lock:
                queued.append(item)
                if scheduled:
                    return
                scheduled = True
            loop.call_soon_threadsafe(drain)

        def resync() -> None:
            receive(_RESYNC)

        if config is None:
            return await self._store.watch(receive, on_resync=resync, private_copies=False)
        return await self._store.subscribe(config, receive, on_resync=resync, private_copies=False)

    def unwatch(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None

    async def sync_events(self, timeout: float = 5.0) -> None:
        """Return once every change event published before the call has been handed to
        ``deliver`` (events queued from other threads are drained ahead of this coroutine's
        wake-up)."""
        await self._store.sync_events(timeout)
        await asyncio.sleep(0)
