"""What every store shares: the call path over a storage driver, the typed methods, the copies
at the boundary and the subscriptions, for a synchronous :class:`Store` and an asynchronous
:class:`AsyncStore` with the same methods.

Rules: a binding. How a call runs is the core's flow (:func:`iii_core.store.call_flow`); a
store only decodes the call, holds the item's in-process lock (writers of one item take turns,
so they do not fail each other's compare-and-sets), reads the clock and drives the flow over
its driver with :func:`~iii_core.store.run_flow` or :func:`~iii_core.store.run_flow_async`.
Copies happen at the boundary only (:mod:`iii_core.backends._boundary`): per ``call``, the
payload in and, when the store's results share its values (``shares_values``: the memory
store), the result out; none for ``call_json``.

Written once for both faces: the typed methods (:class:`~iii_core.backends._typed.
TypedMethods`, which both inherit), what a store over a driver holds (``_DrivenStore``: the
driver, the clock, the limits, the item locks; ``Store`` and ``DriverAsyncStore``), and
``subscribe``/``watch``, which hand :class:`Handlers` to the store's one ``_add``. A
:class:`LocalStore` (memory, engine directory) delivers its own events in the writing thread.

``store.as_async()`` is the store as an :class:`AsyncStore`: an ``AsyncStore`` itself, or for a
synchronous store a face that runs each call on the event loop when the store never blocks
(an in-memory store without fsync) and in a worker thread otherwise, so that code written for
asyncio (the server) needs no switch on store kinds.
"""

from __future__ import annotations

import abc
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Literal, NamedTuple, TypeVar, overload

from iii_core.backends._boundary import (
    as_json,
    copy_result,
    encode,
    owned_payload,
    payload_from_json,
    typed_result,
)
from iii_core.backends._item_locks import AsyncItemLocks, ItemLocks
from iii_core.backends._subscribers import (
    ChangeEvent,
    EventHandler,
    ResyncHandler,
    Subscribers,
    TriggerConfig,
)
from iii_core.backends._typed import TypedMethods
from iii_core.store import (
    AsyncStorage,
    Call,
    Limits,
    Storage,
    run_flow,
    run_flow_async,
)
from iii_core.store._functions import Function

__all__ = [
    "AsyncStore",
    "ChangeEvent",
    "DriverAsyncStore",
    "EventHandler",
    "Handlers",
    "LocalStore",
    "ResyncHandler",
    "Store",
    "TriggerConfig",
    "wall_clock_ms",
]


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def _output(result: Any, shares_values: bool) -> Any:
    """A call's result for a Python caller: a copy when it shares values with the store."""
    return copy_result(result) if shares_values else as_json(result)


def _typed_output(function: Function[Any, Any], result: Any, shares_values: bool) -> Any:
    if function.result is None:
        return None
    if not shares_values:
        return result  # already of the result type, and nobody else holds it
    if function.result is Any:
        return copy_result(result)
    return typed_result(result, function.result)


def _request_payload(function: Function[Any, Any], request: Any) -> Any:
    return owned_payload(function.id, function.input() if request is None else request)


class Handlers(NamedTuple):
    """What a subscription calls: ``handler(event)`` for each matching change event,
    ``on_resync()`` when events may have been missed; ``private_copies``: each call gets its
    own copy of the event."""

    handler: EventHandler
    on_resync: ResyncHandler | None
    private_copies: bool


S = TypeVar("S", Storage, AsyncStorage)
L = TypeVar("L", ItemLocks, AsyncItemLocks)


class _DrivenStore(Generic[S, L]):
    """What a store over a storage driver holds, sync or async: the driver, the clock, the
    limits, the per-item locks and the subscribers of a store that delivers its own events."""

    _item_locks_type: type[L]

    def __init__(
        self,
        storage: S,
        *,
        clock: Callable[[], int] = wall_clock_ms,
        max_value_bytes: int | None = None,
    ) -> None:
        self._storage: S = storage
        self._item_locks: L = self._item_locks_type()
        self._clock = clock
        self._limits = Limits(max_value_bytes)
        self._subscribers = Subscribers()

    @property
    def max_value_bytes(self) -> int | None:
        """The ``state::set`` size limit in bytes; ``None`` or ``<= 0``: no limit."""
        return self._limits.max_value_bytes

    @max_value_bytes.setter
    def max_value_bytes(self, limit: int | None) -> None:
        self._limits = Limits(limit)


class Store(_DrivenStore[Storage, ItemLocks], TypedMethods, abc.ABC):
    """The stream and state service of the iii engine over a synchronous storage driver.

    ``call(function_id, payload)`` answers any ``stream::*`` / ``state::*`` function id with a
    JSON value; ``call_json`` does the same from and to JSON bytes without copying; the typed
    methods take and return the generated Structs. Bad payloads raise
    :class:`~iii_core.store.StoreCallError` with the engine's code and change nothing.
    """

    blocking: bool = True
    """Whether a call may block the calling thread for long (disk sync, network)."""
    shares_values: bool = True
    """Whether results share values with the storage (an in-memory store), so that a Python
    caller must get a copy; a store whose values are decoded afresh for each call does not."""
    _coroutines: Literal[False] = False
    """Whether the methods are coroutines: no (see :class:`AsyncStore`)."""

    _item_locks_type = ItemLocks
    _async_face: _SyncStoreFace | None = None

    # -- calls ----------------------------------------------------------------------------------

    def call(self, function_id: str, payload: Any) -> Any:
        """Run one engine function; returns the result as a (private) JSON value."""
        result = self._run(function_id, owned_payload(function_id, payload))
        return _output(result, self.shares_values)

    def call_json(self, function_id: str, payload_json: bytes | str) -> bytes:
        """Run one engine function from its JSON payload; returns the result's JSON."""
        return encode(self._run(function_id, payload_from_json(function_id, payload_json)))

    def _run(self, function_id: str, payload: Any) -> Any:
        # Every payload comes from the boundary, which bounded its depth.
        call = Call.decode(function_id, payload, depth_checked=True)
        item = call.item
        if item is None:
            return run_flow(call.flow(self._clock(), self._limits), self._storage)
        self._item_locks.acquire(item)
        try:
            return run_flow(call.flow(self._clock(), self._limits), self._storage)
        finally:
            self._item_locks.release(item)

    def _typed_call(self, function: Function[Any, Any], request: Any) -> Any:
        result = self._run(function.id, _request_payload(function, request))
        return _typed_output(function, result, self.shares_values)

    # -- subscriptions --------------------------------------------------------------------------

    def subscribe(
        self,
        config: TriggerConfig,
        handler: EventHandler,
        *,
        on_resync: ResyncHandler | None = None,
        private_copies: bool = True,
    ) -> Callable[[], None]:
        """Call ``handler(event)`` for every change event matching ``config`` (a stream or
        state trigger config, with the engine's matching rules), and ``on_resync()`` when
        events may have been missed; returns ``unsubscribe``. Each handler gets its own copy
        of the event unless ``private_copies=False`` (then it must not mutate it)."""
        return self._add(config, Handlers(handler, on_resync, private_copies))

    def watch(
        self,
        handler: EventHandler,
        *,
        on_resync: ResyncHandler | None = None,
        private_copies: bool = True,
    ) -> Callable[[], None]:
        """:meth:`subscribe` to every change event, stream and state alike (an iii-core
        addition: engine triggers always name a stream or match by scope/key)."""
        return self._add(None, Handlers(handler, on_resync, private_copies))

    @abc.abstractmethod
    def _add(self, config: TriggerConfig | None, handlers: Handlers) -> Callable[[], None]:
        """Subscribe ``handlers`` to the events ``config`` matches (``None``: every event),
        and make sure such events reach this process."""

    @abc.abstractmethod
    def sync_events(self, timeout: float = 5.0) -> None:
        """Return once every change event published before this call has been handed to this
        process's handlers."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release files, connections and threads."""

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def as_async(self) -> AsyncStore:
        """This store as an :class:`AsyncStore` (see the module docstring)."""
        if self._async_face is None:
            self._async_face = _SyncStoreFace(self)
        return self._async_face


class LocalStore(Store):
    """A store whose change events come from this process's own writes (memory, an engine
    directory): the storage driver hands them to :meth:`_deliver`, in the writing thread,
    before the call returns."""

    def _deliver(self, events: tuple[ChangeEvent, ...]) -> None:
        self._subscribers.deliver(events)

    def _add(self, config: TriggerConfig | None, handlers: Handlers) -> Callable[[], None]:
        handler, on_resync, private = handlers
        return self._subscribers.add(config, handler, on_resync=on_resync, private_copies=private)

    def sync_events(self, timeout: float = 5.0) -> None:
        """Nothing to wait for: handlers run in the writer's thread before its call returns."""


class AsyncStore(TypedMethods, abc.ABC):
    """:class:`Store` for asyncio: the same methods, as coroutines. Handlers may be plain
    functions or return awaitables, which are awaited."""

    shares_values: bool = True
    _coroutines: Literal[True] = True
    """Whether the methods are coroutines: yes."""

    @property
    @abc.abstractmethod
    def max_value_bytes(self) -> int | None: ...

    @max_value_bytes.setter
    @abc.abstractmethod
    def max_value_bytes(self, limit: int | None) -> None: ...

    async def call(self, function_id: str, payload: Any) -> Any:
        """Run one engine function; returns the result as a (private) JSON value."""
        result = await self._run(function_id, owned_payload(function_id, payload))
        return _output(result, self.shares_values)

    async def call_json(self, function_id: str, payload_json: bytes | str) -> bytes:
        """Run one engine function from its JSON payload; returns the result's JSON."""
        payload = payload_from_json(function_id, payload_json)
        return encode(await self._run(function_id, payload))

    @abc.abstractmethod
    async def _run(self, function_id: str, payload: Any) -> Any: ...

    def inline_call_json(self) -> Callable[[str, bytes], bytes] | None:
        """:meth:`call_json` as a plain function, for a store whose calls never block (an
        in-memory store without fsync), so that a caller on the loop can answer at once, with
        no task and no suspension; ``None`` for a store whose calls wait (network, disk)."""
        return None

    async def _typed_call(self, function: Function[Any, Any], request: Any) -> Any:
        result = await self._run(function.id, _request_payload(function, request))
        return _typed_output(function, result, self.shares_values)

    async def subscribe(
        self,
        config: TriggerConfig,
        handler: EventHandler,
        *,
        on_resync: ResyncHandler | None = None,
        private_copies: bool = True,
    ) -> Callable[[], None]:
        """As :meth:`Store.subscribe`."""
        return await self._add(config, Handlers(handler, on_resync, private_copies))

    async def watch(
        self,
        handler: EventHandler,
        *,
        on_resync: ResyncHandler | None = None,
        private_copies: bool = True,
    ) -> Callable[[], None]:
        """As :meth:`Store.watch`."""
        return await self._add(None, Handlers(handler, on_resync, private_copies))

    @abc.abstractmethod
    async def _add(self, config: TriggerConfig | None, handlers: Handlers) -> Callable[[], None]:
        """As :meth:`Store._add`."""

    @abc.abstractmethod
    async def sync_events(self, timeout: float = 5.0) -> None:
        """As :meth:`Store.sync_events`."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections and tasks."""

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def as_async(self) -> AsyncStore:
        return self


class DriverAsyncStore(_DrivenStore[AsyncStorage, AsyncItemLocks], AsyncStore):
    """An :class:`AsyncStore` over an asynchronous storage driver."""

    _item_locks_type = AsyncItemLocks

    async def _run(self, function_id: str, payload: Any) -> Any:
        # Every payload comes from the boundary, which bounded its depth.
        call = Call.decode(function_id, payload, depth_checked=True)
        if call.item is None:
            return await run_flow_async(call.flow(self._clock(), self._limits), self._storage)
        async with self._item_locks.hold(call.item):
            return await run_flow_async(call.flow(self._clock(), self._limits), self._storage)


class _SyncStoreFace(AsyncStore):
    """A synchronous :class:`Store` seen from asyncio: its calls run on the loop when the
    store never blocks, else in a worker thread; an awaitable returned by a handler is
    awaited on the loop that subscribed it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.shares_values = store.shares_values

    @property
    def max_value_bytes(self) -> int | None:
        return self.store.max_value_bytes

    @max_value_bytes.setter
    def max_value_bytes(self, limit: int | None) -> None:
        self.store.max_value_bytes = limit

    async def _in_store(self, function: Callable[..., Any], *args: Any) -> Any:
        if self.store.blocking:
            return await asyncio.to_thread(function, *args)
        return function(*args)

    async def _run(self, function_id: str, payload: Any) -> Any:
        return await self._in_store(self.store._run, function_id, payload)

    def inline_call_json(self) -> Callable[[str, bytes], bytes] | None:
        return None if self.store.blocking else self.store.call_json

    async def _add(self, config: TriggerConfig | None, handlers: Handlers) -> Callable[[], None]:
        handler, on_resync, private = handlers
        unsubscribe: Callable[[], None] = await self._in_store(
            self.store._add, config, Handlers(_on_loop(handler), _on_loop(on_resync), private)
        )
        return unsubscribe

    async def sync_events(self, timeout: float = 5.0) -> None:
        await self._in_store(self.store.sync_events, timeout)

    async def close(self) -> None:
        await self._in_store(self.store.close)


@overload
def _on_loop(handler: None) -> None: ...
@overload
def _on_loop(handler: Callable[..., Any]) -> Callable[..., Any]: ...
def _on_loop(handler: Callable[..., Any] | None) -> Callable[..., Any] | None:
    """``handler``, whose awaitable result (if any) runs on the current loop."""
    if handler is None:
        return None
    loop = asyncio.get_running_loop()

    def call(*args: Any) -> None:
        outcome = handler(*args)
        if isinstance(outcome, Awaitable):
            asyncio.run_coroutine_threadsafe(_awaited(outcome), loop)

    return call


async def _awaited(awaitable: Awaitable[Any]) -> None:
    await awaitable
