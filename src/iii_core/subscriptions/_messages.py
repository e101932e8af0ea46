"""The messages the hub sends on its own, beside the change events it forwards: ``sync`` and
``unauthorized``.

Rules (the engine's): both are stream change events (``type: "stream"``) addressed like the
subscription (``streamName``, ``groupId``, and ``id`` the item id or ``null`` for a group); a
``sync`` carries ``data``, the item (``null`` when missing) or the group's list; an
``unauthorized`` carries no data. Neither includes the subscription id. The timestamp is the
caller's. Pure constructors: no clock, values shared.
"""

from __future__ import annotations

from typing import Any

from iii_core._generated.stream import (
    StreamChangeEvent,
    StreamChangeEventDetail,
    StreamJoinLeaveEvent,
)

__all__ = ["sync_message", "unauthorized_message"]


def _addressed(
    subscription: StreamJoinLeaveEvent, timestamp: int, detail: StreamChangeEventDetail
) -> StreamChangeEvent:
    return StreamChangeEvent(
        type="stream",
        timestamp=timestamp,
        stream_name=subscription.stream_name,
        group_id=subscription.group_id,
        id=subscription.id,
        event=detail,
    )


def sync_message(
    subscription: StreamJoinLeaveEvent, timestamp: int, data: Any
) -> StreamChangeEvent:
    return _addressed(subscription, timestamp, StreamChangeEventDetail(type="sync", data=data))


def unauthorized_message(subscription: StreamJoinLeaveEvent, timestamp: int) -> StreamChangeEvent:
    return _addressed(subscription, timestamp, StreamChangeEventDetail(type="unauthorized"))
