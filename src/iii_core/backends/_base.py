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
import time
from collections.abc import Callable
from typing import Any

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
    StreamListAllResult,
    StreamListGroupsInput,
    StreamListInput,
    StreamSendInput,
    StreamSetInput,
    StreamSetResult,
    StreamUpdateInput,
    StreamUpdateResult,
)
from iii_core.backends._calls import (
    as_type,
    decode_request,
    owned_copy,
    plan_read,
    to_json,
    writer,
)
from iii_core.backends._subscribers import (
    ChangeEvent,
    EventHandler,
    Subscribers,
    TriggerConfig,
)
from iii_core.store import READ_FUNCTIONS, Transition, item_location
from iii_core.update import MISSING

__all__ = ["ChangeEvent", "EventHandler", "Store", "TriggerConfig", "wall_clock_ms"]


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


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
        self._subscribers = Subscribers()

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
        """Read the item, ``compute`` its transition, write it and publish its events, as one
        atomic step (``compute`` may run more than once; it is pure)."""

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
        return to_json(self._run(function_id, decode_request(function_id, payload)))

    def _run(self, function_id: str, request: Any) -> Any:
        if function_id in READ_FUNCTIONS:
            plan = plan_read(function_id, request)
            if plan.source == "field":
                return plan.shape(self._read_field(plan.key, plan.field))
            if plan.source == "values":
                return plan.shape(self._read_values(plan.key))
            return plan.shape(self._hash_keys(plan.key))
        step = writer(request, self._clock(), self.max_value_bytes)
        location = item_location(request)
        if location is None:
            outcome = step(MISSING)
            self._publish(outcome.events)
        else:
            outcome = self._atomic_update(*location, step)
        return outcome.result

    def _typed(self, function_id: str, request: Any) -> Any:
        return self._run(function_id, decode_request(function_id, request))

    # -- typed methods, one per function id ---------------------------------------------------

    def stream_set(self, request: StreamSetInput) -> StreamSetResult:
        return as_type(self._typed("stream::set", request), StreamSetResult)

    def stream_get(self, request: StreamGetInput) -> Any:
        return owned_copy(self._typed("stream::get", request), "result")

    def stream_update(self, request: StreamUpdateInput) -> StreamUpdateResult:
        return as_type(self._typed("stream::update", request), StreamUpdateResult)

    def stream_delete(self, request: StreamDeleteInput) -> StreamDeleteResult:
        return as_type(self._typed("stream::delete", request), StreamDeleteResult)

    def stream_send(self, request: StreamSendInput) -> None:
        self._typed("stream::send", request)

    def stream_list(self, request: StreamListInput) -> list[Any]:
        return as_type(self._typed("stream::list", request), list[Any])

    def stream_list_groups(self, request: StreamListGroupsInput) -> list[str]:
        return as_type(self._typed("stream::list_groups", request), list[str])

    def stream_list_all(self) -> StreamListAllResult:
        return as_type(self._typed("stream::list_all", {}), StreamListAllResult)

    def state_set(self, request: StateSetInput) -> StreamSetResult:
        return as_type(self._typed("state::set", request), StreamSetResult)

    def state_get(self, request: StateGetInput) -> Any:
        return owned_copy(self._typed("state::get", request), "result")

    def state_update(self, request: StateUpdateInput) -> StreamUpdateResult:
        return as_type(self._typed("state::update", request), StreamUpdateResult)

    def state_delete(self, request: StateDeleteInput) -> Any:
        return owned_copy(self._typed("state::delete", request), "result")

    def state_list(self, request: StateListInput) -> list[Any]:
        return as_type(self._typed("state::list", request), list[Any])

    def state_list_groups(
        self, request: StateListGroupsInput | None = None
    ) -> StateListGroupsResult:
        payload = StateListGroupsInput() if request is None else request
        return as_type(self._typed("state::list_groups", payload), StateListGroupsResult)

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
        return self._subscribers.add(config, handler)

    def _deliver(self, events: tuple[ChangeEvent, ...]) -> None:
        """Run the matching handlers of this process."""
        self._subscribers.deliver(events)
