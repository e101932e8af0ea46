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
from typing import Any, overload

from iii_core._generated.state import (
    StateDeleteInput,
    StateGetInput,
    StateListGroupsInput,
    StateListGroupsResult,
    StateListInput,
    StateSetInput,
    StateUpdateInput,
)
from iii_core._generated.stream import (
    StreamDeleteInput,
    StreamDeleteResult,
    StreamGetInput,
    StreamListAllInput,
    StreamListAllResult,
    StreamListGroupsInput,
    StreamListInput,
    StreamSendInput,
    StreamSetInput,
    StreamSetResult,
    StreamUpdateInput,
    StreamUpdateResult,
)
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
from iii_core.backends._typed import AsyncTypedMethod, TypedMethod
from iii_core.store import (
    AsyncStorage,
    Call,
    Limits,
    Storage,
    run_flow,
    run_flow_async,
)
from iii_core.store import _functions as table
from iii_core.store._functions import Function

__all__ = [
    "AsyncStore",
    "ChangeEvent",
    "EventHandler",
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


class Store(abc.ABC):
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

    def __init__(
        self,
        storage: Storage,
        *,
        clock: Callable[[], int] = wall_clock_ms,
        max_value_bytes: int | None = None,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._limits = Limits(max_value_bytes)
        self._subscribers = Subscribers()
        self._item_locks = ItemLocks()
        self._async_face: _SyncStoreFace | None = None

    @property
    def max_value_bytes(self) -> int | None:
        """The ``state::set`` size limit in bytes; ``None`` or ``<= 0``: no limit."""
        return self._limits.max_value_bytes

    @max_value_bytes.setter
    def max_value_bytes(self, limit: int | None) -> None:
        self._limits = Limits(limit)

    # -- calls ----------------------------------------------------------------------------------

    def call(self, function_id: str, payload: Any) -> Any:
        """Run one engine function; returns the result as a (private) JSON value."""
        result = self._run(function_id, owned_payload(function_id, payload))
        return _output(result, self.shares_values)

    def call_json(self, function_id: str, payload_json: bytes | str) -> bytes:
        """Run one engine function from its JSON payload; returns the result's JSON."""
        return encode(self._run(function_id, payload_from_json(function_id, payload_json)))

    def _run(self, function_id: str, payload: Any) -> Any:
        call = Call.decode(function_id, payload)
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

    stream_set = TypedMethod[StreamSetInput, StreamSetResult](table.STREAM_SET)
    stream_get = TypedMethod[StreamGetInput, Any](table.STREAM_GET)
    stream_update = TypedMethod[StreamUpdateInput, StreamUpdateResult](table.STREAM_UPDATE)
    stream_delete = TypedMethod[StreamDeleteInput, StreamDeleteResult](table.STREAM_DELETE)
    stream_send = TypedMethod[StreamSendInput, None](table.STREAM_SEND)
    stream_list = TypedMethod[StreamListInput, list[Any]](table.STREAM_LIST)
    stream_list_groups = TypedMethod[StreamListGroupsInput, list[str]](table.STREAM_LIST_GROUPS)
    stream_list_all = TypedMethod[StreamListAllInput, StreamListAllResult](table.STREAM_LIST_ALL)
    state_set = TypedMethod[StateSetInput, StreamSetResult](table.STATE_SET)
    state_get = TypedMethod[StateGetInput, Any](table.STATE_GET)
    state_update = TypedMethod[StateUpdateInput, StreamUpdateResult](table.STATE_UPDATE)
    state_delete = TypedMethod[StateDeleteInput, Any](table.STATE_DELETE)
    state_list = TypedMethod[StateListInput, list[Any]](table.STATE_LIST)
    state_list_groups = TypedMethod[StateListGroupsInput, StateListGroupsResult](
        table.STATE_LIST_GROUPS
    )

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
        unsubscribe = self._subscribers.add(
            config, handler, on_resync=on_resync, private_copies=private_copies
        )
        self._start_events()
        return unsubscribe

    def watch(
        self,
        handler: EventHandler,
        *,
        on_resync: ResyncHandler | None = None,
        private_copies: bool = True,
    ) -> Callable[[], None]:
        """:meth:`subscribe` to every change event, stream and state alike (an iii-core
        addition: engine triggers always name a stream or match by scope/key)."""
        unsubscribe = self._subscribers.add(
            None, handler, on_resync=on_resync, private_copies=private_copies
        )
        self._start_events()
        return unsubscribe

    @abc.abstractmethod
    def _start_events(self) -> None:
        """Make sure change events reach this store's subscribers (a listener, for stores
        shared between processes)."""

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


class AsyncStore(abc.ABC):
    """:class:`Store` for asyncio: the same methods, as coroutines. Handlers may be plain
    functions or return awaitables, which are awaited."""

    shares_values: bool = True

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

    stream_set = AsyncTypedMethod[StreamSetInput, StreamSetResult](table.STREAM_SET)
    stream_get = AsyncTypedMethod[StreamGetInput, Any](table.STREAM_GET)
    stream_update = AsyncTypedMethod[StreamUpdateInput, StreamUpdateResult](table.STREAM_UPDATE)
    stream_delete = AsyncTypedMethod[StreamDeleteInput, StreamDeleteResult](table.STREAM_DELETE)
    stream_send = AsyncTypedMethod[StreamSendInput, None](table.STREAM_SEND)
    stream_list = AsyncTypedMethod[StreamListInput, list[Any]](table.STREAM_LIST)
    stream_list_groups = AsyncTypedMethod[StreamListGroupsInput, list[str]](
        table.STREAM_LIST_GROUPS
    )
    stream_list_all = AsyncTypedMethod[StreamListAllInput, StreamListAllResult](
        table.STREAM_LIST_ALL
    )
    state_set = AsyncTypedMethod[StateSetInput, StreamSetResult](table.STATE_SET)
    state_get = AsyncTypedMethod[StateGetInput, Any](table.STATE_GET)
    state_update = AsyncTypedMethod[StateUpdateInput, StreamUpdateResult](table.STATE_UPDATE)
    state_delete = AsyncTypedMethod[StateDeleteInput, Any](table.STATE_DELETE)
    state_list = AsyncTypedMethod[StateListInput, list[Any]](table.STATE_LIST)
    state_list_groups = AsyncTypedMethod[StateListGroupsInput, StateListGroupsResult](
        table.STATE_LIST_GROUPS
    )

    @abc.abstractmethod
    async def subscribe(
        self,
        config: TriggerConfig,
        handler: EventHandler,
        *,
        on_resync: ResyncHandler | None = None,
        private_copies: bool = True,
    ) -> Callable[[], None]:
        """As :meth:`Store.subscribe`."""

    @abc.abstractmethod
    async def watch(
        self,
        handler: EventHandler,
        *,
        on_resync: ResyncHandler | None = None,
        private_copies: bool = True,
    ) -> Callable[[], None]:
        """As :meth:`Store.watch`."""

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


class DriverAsyncStore(AsyncStore):
    """An :class:`AsyncStore` over an asynchronous storage driver."""

    def __init__(
        self,
        storage: AsyncStorage,
        *,
        clock: Callable[[], int] = wall_clock_ms,
        max_value_bytes: int | None = None,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._limits = Limits(max_value_bytes)
        self._subscribers = Subscribers()
        self._item_locks = AsyncItemLocks()

    @property
    def max_value_bytes(self) -> int | None:
        return self._limits.max_value_bytes

    @max_value_bytes.setter
    def max_value_bytes(self, limit: int | None) -> None:
        self._limits = Limits(limit)

    async def _run(self, function_id: str, payload: Any) -> Any:
        call = Call.decode(function_id, payload)
        if call.item is None:
            return await run_flow_async(call.flow(self._clock(), self._limits), self._storage)
        async with self._item_locks.hold(call.item):
            return await run_flow_async(call.flow(self._clock(), self._limits), self._storage)

    async def subscribe(
        self,
        config: TriggerConfig,
        handler: EventHandler,
        *,
        on_resync: ResyncHandler | None = None,
        private_copies: bool = True,
    ) -> Callable[[], None]:
        unsubscribe = self._subscribers.add(
            config, handler, on_resync=on_resync, private_copies=private_copies
        )
        await self._start_events()
        return unsubscribe

    async def watch(
        self,
        handler: EventHandler,
        *,
        on_resync: ResyncHandler | None = None,
        private_copies: bool = True,
    ) -> Callable[[], None]:
        unsubscribe = self._subscribers.add(
            None, handler, on_resync=on_resync, private_copies=private_copies
        )
        await self._start_events()
        return unsubscribe

    @abc.abstractmethod
    async def _start_events(self) -> None:
        """Make sure change events reach this store's subscribers."""


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

    async def subscribe(
        self,
        config: TriggerConfig,
        handler: EventHandler,
        *,
        on_resync: ResyncHandler | None = None,
        private_copies: bool = True,
    ) -> Callable[[], None]:
        on_loop, resync_on_loop = _on_loop(handler), _on_loop(on_resync)
        unsubscribe: Callable[[], None] = await self._in_store(
            lambda: self.store.subscribe(
                config, on_loop, on_resync=resync_on_loop, private_copies=private_copies
            )
        )
        return unsubscribe

    async def watch(
        self,
        handler: EventHandler,
        *,
        on_resync: ResyncHandler | None = None,
        private_copies: bool = True,
    ) -> Callable[[], None]:
        on_loop, resync_on_loop = _on_loop(handler), _on_loop(on_resync)
        unsubscribe: Callable[[], None] = await self._in_store(
            lambda: self.store.watch(
                on_loop, on_resync=resync_on_loop, private_copies=private_copies
            )
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
