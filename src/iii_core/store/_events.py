"""Change events, shaped as the engine emits them.

Rules: stream events are ``{type: "stream", timestamp, streamName, groupId, id, event: {type,
data}}`` with ``timestamp`` the caller's ``now_ms`` and ``id`` always on the wire (``null`` for a
``send`` without id); state events are ``{type: "state", event_type, scope, key, old_value,
new_value}`` with every key present. Pure constructors: no clock, no I/O; values are shared, not
copied.
"""

from __future__ import annotations

from typing import Any, Literal

from iii_core._generated.state import StateChangeEvent
from iii_core._generated.stream import (
    StreamChangeEvent,
    StreamChangeEventDetail,
    StreamCustomEvent,
)

__all__ = ["custom_change", "item_change", "state_event", "stream_event"]


def stream_event(
    *,
    now_ms: int,
    stream_name: str,
    group_id: str,
    item_id: str | None,
    change: StreamChangeEventDetail,
) -> StreamChangeEvent:
    return StreamChangeEvent(
        type="stream",
        timestamp=now_ms,
        stream_name=stream_name,
        group_id=group_id,
        id=item_id,
        event=change,
    )


def item_change(kind: Literal["create", "update", "delete"], data: Any) -> StreamChangeEventDetail:
    """A create/update change (``data`` = the new value) or a delete (the removed value)."""
    return StreamChangeEventDetail(type=kind, data=data)


def custom_change(kind: str, data: Any) -> StreamChangeEventDetail:
    """The ``stream::send`` change: ``{type: "event", event: {type: kind, data}}``."""
    return StreamChangeEventDetail(type="event", event=StreamCustomEvent(type=kind, data=data))


def state_event(
    event_type: Literal["state:created", "state:updated", "state:deleted"],
    scope: str,
    key: str,
    old_value: Any,
    new_value: Any,
) -> StateChangeEvent:
    return StateChangeEvent(
        type="state",
        event_type=event_type,
        scope=scope,
        key=key,
        old_value=old_value,
        new_value=new_value,
    )
