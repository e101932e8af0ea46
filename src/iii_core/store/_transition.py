"""Per-item write transitions: ``(request, old item or MISSING, now_ms) -> Transition``.

Rules: the engine's results and events, case for case (stream-state.md §1 and §3, with its
Errata): set and update always write and always emit (create when the item was missing, else
update; a stored ``null`` is present); update creates a missing item from ``{}`` and omits
``errors`` from its result when empty; a stream delete of a missing item writes nothing and emits
nothing, while a state delete always emits ``state:deleted``; ``send`` stores nothing. Pure: no
I/O, no clock (time is ``now_ms``), inputs never mutated; results and events share values with
the request and ``old`` (treat them as immutable).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from msgspec import UNSET

from iii_core._generated.state import (
    StateChangeEvent,
    StateDeleteInput,
    StateSetInput,
    StateUpdateInput,
)
from iii_core._generated.stream import (
    StreamChangeEvent,
    StreamDeleteInput,
    StreamDeleteResult,
    StreamSendInput,
    StreamSetInput,
    StreamSetResult,
    StreamUpdateInput,
    StreamUpdateResult,
)
from iii_core.store._events import custom_change, item_change, state_event, stream_event
from iii_core.store._requests import Request
from iii_core.store._size import check_value_size
from iii_core.update import MISSING, apply_update_ops

__all__ = ["Transition", "transition"]


_StateKind = Literal["state:created", "state:updated"]


@dataclass(frozen=True, slots=True)
class Transition:
    """The outcome of one write.

    ``write``: whether the backend must store ``new`` (``False``: leave the item as it is).
    ``new``: the item's new value, or :data:`MISSING` to delete it. ``result``: the call's
    result (a generated Struct, a JSON value or ``None``). ``events``: the change events to emit,
    in order.
    """

    write: bool
    new: Any
    result: Any
    events: tuple[StreamChangeEvent | StateChangeEvent, ...]


def _or_null(value: Any) -> Any:
    return None if value is MISSING else value


def _item_event(
    request: StreamSetInput | StreamUpdateInput | StreamDeleteInput,
    now_ms: int,
    kind: Literal["create", "update", "delete"],
    data: Any,
) -> StreamChangeEvent:
    return stream_event(
        now_ms=now_ms,
        stream_name=request.stream_name,
        group_id=request.group_id,
        item_id=request.item_id,
        change=item_change(kind, data),
    )


def _stream_set(request: StreamSetInput, old: Any, now_ms: int) -> Transition:
    data = request.data
    kind: Literal["create", "update"] = "create" if old is MISSING else "update"
    event = _item_event(request, now_ms, kind, data)
    result = StreamSetResult(old_value=_or_null(old), new_value=data)
    return Transition(write=True, new=data, result=result, events=(event,))


def _stream_update(request: StreamUpdateInput, old: Any, now_ms: int) -> Transition:
    new, errors = apply_update_ops(old, request.ops)
    kind: Literal["create", "update"] = "create" if old is MISSING else "update"
    event = _item_event(request, now_ms, kind, new)
    result = StreamUpdateResult(old_value=_or_null(old), new_value=new, errors=errors or UNSET)
    return Transition(write=True, new=new, result=result, events=(event,))


def _stream_delete(request: StreamDeleteInput, old: Any, now_ms: int) -> Transition:
    if old is MISSING:
        return Transition(
            write=False, new=MISSING, result=StreamDeleteResult(old_value=None), events=()
        )
    event = _item_event(request, now_ms, "delete", old)
    return Transition(
        write=True, new=MISSING, result=StreamDeleteResult(old_value=old), events=(event,)
    )


def _stream_send(request: StreamSendInput, old: Any, now_ms: int) -> Transition:
    item_id = None if request.id is UNSET else request.id
    event = stream_event(
        now_ms=now_ms,
        stream_name=request.stream_name,
        group_id=request.group_id,
        item_id=item_id,
        change=custom_change(request.type, request.data),
    )
    return Transition(write=False, new=old, result=None, events=(event,))


def _state_set(request: StateSetInput, old: Any, max_value_bytes: int | None) -> Transition:
    value = request.value
    check_value_size(value, max_value_bytes)
    old_value = _or_null(old)
    kind: _StateKind = "state:created" if old is MISSING else "state:updated"
    event = state_event(kind, request.scope, request.key, old_value, value)
    result = StreamSetResult(old_value=old_value, new_value=value)
    return Transition(write=True, new=value, result=result, events=(event,))


def _state_update(request: StateUpdateInput, old: Any) -> Transition:
    new, errors = apply_update_ops(old, request.ops)
    old_value = _or_null(old)
    kind: _StateKind = "state:created" if old is MISSING else "state:updated"
    event = state_event(kind, request.scope, request.key, old_value, new)
    result = StreamUpdateResult(old_value=old_value, new_value=new, errors=errors or UNSET)
    return Transition(write=True, new=new, result=result, events=(event,))


def _state_delete(request: StateDeleteInput, old: Any) -> Transition:
    old_value = _or_null(old)
    event = state_event("state:deleted", request.scope, request.key, old_value, None)
    return Transition(write=old is not MISSING, new=MISSING, result=old_value, events=(event,))


def transition(
    request: Request, old: Any, now_ms: int, *, max_value_bytes: int | None = None
) -> Transition:
    """Apply one write request to its item's current value.

    ``old`` is the stored JSON value or :data:`MISSING` (for ``stream::send``, which addresses
    no item, pass :data:`MISSING`). ``now_ms`` is the stream events' ``timestamp`` (Unix epoch
    milliseconds). ``max_value_bytes`` is the state worker's limit (``None`` or ``<= 0``: none),
    checked by ``state::set`` only: over it, :class:`StoreCallError` ``VALUE_TOO_LARGE`` is
    raised and nothing happens.
    Raises ``TypeError`` for a read request.
    """
    if isinstance(request, StreamSetInput):
        return _stream_set(request, old, now_ms)
    if isinstance(request, StreamUpdateInput):
        return _stream_update(request, old, now_ms)
    if isinstance(request, StreamDeleteInput):
        return _stream_delete(request, old, now_ms)
    if isinstance(request, StreamSendInput):
        return _stream_send(request, old, now_ms)
    if isinstance(request, StateSetInput):
        return _state_set(request, old, max_value_bytes)
    if isinstance(request, StateUpdateInput):
        return _state_update(request, old)
    if isinstance(request, StateDeleteInput):
        return _state_delete(request, old)
    raise TypeError(f"transition() takes a write request, not {type(request).__name__}")
