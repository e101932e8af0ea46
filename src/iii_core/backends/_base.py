"""What every store backend shares: the call path, the typed methods and subscriptions.

Rules: a binding. The semantics live in the pure core (:mod:`iii_core.store`); a backend only
supplies storage primitives — read one item, run one item's read → transition → write
atomically, enumerate hash keys, read a hash's values, and deliver change events. Every call is
JSON in, JSON out: the payload is copied through msgspec on the way in and the result on the way
out, so a caller can never alias (and so corrupt) stored values, and the memory and Redis
backends hand out identical Python values.
"""

from __future__ import annotations

import abc
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import msgspec

from iii_core._generated.state import (
    StateChangeEvent,
    StateDeleteInput,
    StateGetInput,
    StateListGroupsInput,
    StateListGroupsResult,
    StateListInput,
    StateSetInput,
    StateTriggerConfig,
    StateUpdateInput,
)
from iii_core._generated.stream import (
    StreamChangeEvent,
    StreamDeleteInput,
    StreamDeleteResult,
    StreamGetInput,
    StreamListGroupsInput,
    StreamListInput,
    StreamSendInput,
    StreamSetInput,
    StreamSetResult,
    StreamTriggerConfig,
    StreamUpdateInput,
    StreamUpdateResult,
)
from iii_core.store import (
    READ_FUNCTIONS,
    StoreCallError,
    Transition,
    decode_call,
    item_location,
    list_hash_key,
    list_hash_prefix,
    read_item,
    read_list,
    read_list_all,
    read_list_groups,
    state_trigger_matches,
    stream_trigger_matches,
    transition,
)
from iii_core.update import MISSING

__all__ = ["ChangeEvent", "EventHandler", "Store", "TriggerConfig", "wall_clock_ms"]

log = logging.getLogger("iii_core.backends")

ChangeEvent = StreamChangeEvent | StateChangeEvent
TriggerConfig = StreamTriggerConfig | StateTriggerConfig
EventHandler = Callable[[ChangeEvent], object]
T = TypeVar("T")

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def _owned_copy(value: Any, what: str) -> Any:
    """A private copy of a JSON value; anything that is not JSON is a deserialization error."""
    try:
        return _decoder.decode(_encoder.encode(value))
    except (TypeError, msgspec.EncodeError, msgspec.DecodeError, RecursionError) as exc:
        raise StoreCallError(
            "deserialization_error", f"{what} is not a JSON value: {exc}"
        ) from None


def _as(result: Any, kind: type[T]) -> T:
    return msgspec.json.decode(_encoder.encode(result), type=kind)


def _matches(config: TriggerConfig, event: ChangeEvent) -> bool:
    if isinstance(config, StreamTriggerConfig):
        return isinstance(event, StreamChangeEvent) and stream_trigger_matches(config, event)
    return isinstance(event, StateChangeEvent) and state_trigger_matches(config, event)


class Store(abc.ABC):
    """The stream and state service of the iii engine, over some storage.

    ``call(function_id, payload)`` answers any ``stream::*`` / ``state::*`` function id with a
    JSON value; the typed methods take and return the generated Structs. Bad payloads raise
    :class:`StoreCallError` with the engine's code and change nothing.
    """

    def __init__(
        self, *, clock: Callable[[], int] = wall_clock_ms, max_value_bytes: int | None = None
    ) -> None:
        self._clock = clock
        self.max_value_bytes = max_value_bytes
        self._subscriptions: dict[int, tuple[TriggerConfig | None, EventHandler]] = {}
        self._subscriptions_lock = threading.Lock()
        self._next_subscription = 0

    # -- storage primitives -----------------------------------------------------------------

    @abc.abstractmethod
    def _read_field(self, hash_key: str, field: str) -> Any:
        """The stored value, or MISSING."""

    @abc.abstractmethod
    def _read_values(self, hash_key: str) -> list[Any]:
        """Every value of one hash, in the backend's list order."""

    @abc.abstractmethod
    def _hash_keys(self, prefix: str) -> list[str]:
        """Every non-empty hash whose key starts with ``prefix``."""

    @abc.abstractmethod
    def _atomic_update(
        self, hash_key: str, field: str, compute: Callable[[Any], Transition]
    ) -> Transition:
        """Read the item, ``compute`` its transition, and write it, as one atomic step
        (``compute`` may run more than once; it is pure)."""

    @abc.abstractmethod
    def _publish(self, events: tuple[ChangeEvent, ...]) -> None:
        """Deliver change events to every subscriber of this store (all processes)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release files, connections and threads."""

    @abc.abstractmethod
    def sync_events(self, timeout: float = 5.0) -> None:
        """Return once every change event published before this call has been handed to this
        process's handlers."""

    # -- the call path ------------------------------------------------------------------------

    def call(self, function_id: str, payload: Any) -> Any:
        """Run one engine function; returns the result as a JSON value."""
        request = decode_call(function_id, _owned_copy(payload, f"input for {function_id}"))
        return _decoder.decode(_encoder.encode(self._run(function_id, request)))

    def _run(self, function_id: str, request: Any) -> Any:
        if function_id in READ_FUNCTIONS:
            return self._read(function_id, request)
        location = item_location(request)
        now_ms = self._clock()
        if location is None:
            result = transition(request, MISSING, now_ms, max_value_bytes=self.max_value_bytes)
        else:
            hash_key, field = location
            result = self._atomic_update(
                hash_key,
                field,
                lambda old: transition(request, old, now_ms, max_value_bytes=self.max_value_bytes),
            )
        if result.events:
            self._publish(result.events)
        return result.result

    def _read(self, function_id: str, request: Any) -> Any:
        if function_id in ("stream::get", "state::get"):
            hash_key, field = _location(request)
            return read_item(request, self._read_field(hash_key, field))
        if function_id in ("stream::list", "state::list"):
            return read_list(request, self._read_values(list_hash_key(request)))
        if function_id == "stream::list_all":
            return read_list_all(self._hash_keys(list_hash_prefix(None)))
        return read_list_groups(request, self._hash_keys(list_hash_prefix(request)))

    def _typed(self, function_id: str, request: Any) -> Any:
        return self._run(function_id, decode_call(function_id, _owned_copy(request, "input")))

    # -- typed methods, one per function id ---------------------------------------------------

    def stream_set(self, request: StreamSetInput) -> StreamSetResult:
        return _as(self._typed("stream::set", request), StreamSetResult)

    def stream_get(self, request: StreamGetInput) -> Any:
        return _owned_copy(self._typed("stream::get", request), "result")

    def stream_update(self, request: StreamUpdateInput) -> StreamUpdateResult:
        return _as(self._typed("stream::update", request), StreamUpdateResult)

    def stream_delete(self, request: StreamDeleteInput) -> StreamDeleteResult:
        return _as(self._typed("stream::delete", request), StreamDeleteResult)

    def stream_send(self, request: StreamSendInput) -> None:
        self._typed("stream::send", request)

    def stream_list(self, request: StreamListInput) -> list[Any]:
        return _as(self._typed("stream::list", request), list[Any])

    def stream_list_groups(self, request: StreamListGroupsInput) -> list[str]:
        return _as(self._typed("stream::list_groups", request), list[str])

    def stream_list_all(self) -> Any:
        return _owned_copy(self._typed("stream::list_all", {}), "result")

    def state_set(self, request: StateSetInput) -> StreamSetResult:
        return _as(self._typed("state::set", request), StreamSetResult)

    def state_get(self, request: StateGetInput) -> Any:
        return _owned_copy(self._typed("state::get", request), "result")

    def state_update(self, request: StateUpdateInput) -> StreamUpdateResult:
        return _as(self._typed("state::update", request), StreamUpdateResult)

    def state_delete(self, request: StateDeleteInput) -> Any:
        return _owned_copy(self._typed("state::delete", request), "result")

    def state_list(self, request: StateListInput) -> list[Any]:
        return _as(self._typed("state::list", request), list[Any])

    def state_list_groups(
        self, request: StateListGroupsInput | None = None
    ) -> StateListGroupsResult:
        payload = StateListGroupsInput() if request is None else request
        return _as(self._typed("state::list_groups", payload), StateListGroupsResult)

    # -- subscriptions --------------------------------------------------------------------------

    def subscribe(self, config: TriggerConfig, handler: EventHandler) -> Callable[[], None]:
        """Call ``handler(event)`` for every change event matching ``config`` (a stream or
        state trigger config, with the engine's matching rules); returns ``unsubscribe``."""
        return self._add_subscription(config, handler)

    def watch(self, handler: EventHandler) -> Callable[[], None]:
        """Call ``handler(event)`` for every change event, stream and state alike (an iii-core
        addition: engine triggers always name a stream or match by scope/key); returns
        ``unsubscribe``."""
        return self._add_subscription(None, handler)

    def _add_subscription(
        self, config: TriggerConfig | None, handler: EventHandler
    ) -> Callable[[], None]:
        with self._subscriptions_lock:
            token = self._next_subscription
            self._next_subscription += 1
            self._subscriptions[token] = (config, handler)

        def unsubscribe() -> None:
            with self._subscriptions_lock:
                self._subscriptions.pop(token, None)

        return unsubscribe

    def _deliver(self, events: Iterable[ChangeEvent]) -> None:
        """Run the matching handlers; a failing handler is logged and never stops the others,
        as a failing trigger handler never affects the write in the engine."""
        with self._subscriptions_lock:
            subscriptions = list(self._subscriptions.values())
        for event in events:
            for config, handler in subscriptions:
                if config is None or _matches(config, event):
                    try:
                        handler(event)
                    except Exception:
                        log.exception("change event handler failed")


def _location(request: Any) -> tuple[str, str]:
    location = item_location(request)
    if location is None:
        raise StoreCallError("deserialization_error", "request addresses no stored item")
    return location
