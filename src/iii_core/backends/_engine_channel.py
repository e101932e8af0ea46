"""The iii engine's stream event channel on Redis: ``stream::events``, one message per change.

Rules: the engine's Redis stream adapter PUBLISHes every stream change event on the classic
channel ``stream::events`` as ``serde_json::to_string`` of its ``StreamWrapperMessage``:

``{"type":"stream","timestamp":<i64 ms>,"streamName":...,"groupId":...,"id":<string|null>,
"event":{"type":"create"|"update"|"delete","data":<value>}}``, or for ``stream::send``
``"event":{"type":"event","event":{"type":<caller's type>,"data":<value>}}``.

Fields come in that order, ``id`` is always present (``null`` for a ``send`` without id), and
every object inside a value has its keys sorted (serde_json's ``Value`` is a ``BTreeMap``: the
engine enables no ``preserve_order``), so :func:`encode_engine_message` writes exactly that,
value keys sorted by code point (the UTF-8 byte order of Rust's ``String``).

Each iii-core write also reaches iii-core processes on its own group's channel
(:mod:`iii_core.backends._event_routing`), so that a process decodes only the groups it
serves; the copy it publishes here is for the engine's WebSocket clients and for iii-core's
stream-wide subscribers. To tell its own copies from the engine's without decoding them, iii-core
writes them with one tab after the opening brace (:data:`OWN_COPY_PREFIX`): insignificant
whitespace that every JSON reader (serde_json included) ignores and that ``serde_json`` never
writes, so a listener skips its own copies by a prefix test and every subscriber sees each
change exactly once.

Reading is lenient where serde is: unknown fields are ignored and numbers may be in any JSON form
(cjson's ``1.2345678901234e+14`` as well as serde_json's ``123456789012340.0``). A message that is
not a change event (``sync``/``unauthorized``, which the engine never publishes here, or anything
malformed) decodes to ``None``: the listener counts it and goes on, as the engine's own watch loop
logs and skips a message it cannot parse. Pure functions, no I/O.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from iii_core._generated.stream import (
    StreamChangeEvent,
    StreamChangeEventDetail,
    StreamCustomEvent,
)
from iii_core._json import loads

__all__ = [
    "ENGINE_CHANNEL",
    "OWN_COPY_PREFIX",
    "decode_engine_message",
    "encode_engine_message",
    "is_own_copy",
]

ENGINE_CHANNEL: Final = "stream::events"
OWN_COPY_PREFIX: Final = b"{\t"

_ITEM_CHANGES: Final = frozenset({"create", "update", "delete"})


class _ItemChange(msgspec.Struct):
    """``StreamOutboundMessage::{Create,Update,Delete}``: the serde tag, then ``data``."""

    type: str
    data: msgspec.Raw


class _EventData(msgspec.Struct):
    """``EventData``: the caller's ``type``, then ``data``."""

    type: str
    data: msgspec.Raw


class _CustomChange(msgspec.Struct):
    """``StreamOutboundMessage::Event``."""

    type: str
    event: _EventData


class _WrapperMessage(msgspec.Struct, kw_only=True):
    """``StreamWrapperMessage``, fields in the engine's declaration order."""

    type: str
    timestamp: int
    stream_name: str = msgspec.field(name="streamName")
    group_id: str = msgspec.field(name="groupId")
    id: str | None
    event: msgspec.Raw


_encoder = msgspec.json.Encoder()
_sorted_encoder = msgspec.json.Encoder(order="sorted")


def _value(data: Any) -> msgspec.Raw:
    return msgspec.Raw(_sorted_encoder.encode(data))


def encode_engine_message(event: StreamChangeEvent) -> bytes:
    """``event`` as the engine's ``StreamWrapperMessage`` JSON, marked as iii-core's own copy.

    Raises ``ValueError`` for a ``sync``/``unauthorized`` event: those are socket messages, not
    changes, and the engine never publishes them on the channel.
    """
    detail = event.event
    change: _ItemChange | _CustomChange
    if detail.type == "event" and isinstance(detail.event, StreamCustomEvent):
        change = _CustomChange("event", _EventData(detail.event.type, _value(detail.event.data)))
    elif detail.type in ("create", "update", "delete"):
        data = None if detail.data is msgspec.UNSET else detail.data
        change = _ItemChange(detail.type, _value(data))
    else:
        raise ValueError(f"a {detail.type!r} stream event is not a change the engine publishes")
    item_id = event.id
    message = _WrapperMessage(
        type=event.type,
        timestamp=event.timestamp,
        stream_name=event.stream_name,
        group_id=event.group_id,
        id=None if item_id is msgspec.UNSET else item_id,
        event=msgspec.Raw(_encoder.encode(change)),
    )
    return OWN_COPY_PREFIX + _encoder.encode(message)[1:]


def is_own_copy(data: bytes) -> bool:
    """Whether a message on the channel is a copy an iii-core store published."""
    return data.startswith(OWN_COPY_PREFIX)


def decode_engine_message(data: bytes) -> StreamChangeEvent | None:
    """The change event in a ``StreamWrapperMessage``, or ``None`` if ``data`` is none."""
    try:
        # serde_json's number rules, as the engine reads its channel (-0 is -0.0, say); the
        # depth of what a store accepts is bounded where it is written.
        event = msgspec.convert(loads(data, max_depth=None), StreamChangeEvent)
    except Exception:  # any message at all (nested 100,000 deep, of any shape) is just not one
        return None
    detail = event.event
    if detail.type == "event":
        if detail.event is msgspec.UNSET:
            return None
        change = StreamChangeEventDetail(type="event", event=detail.event)
    elif detail.type in _ITEM_CHANGES and detail.data is not msgspec.UNSET:
        change = StreamChangeEventDetail(type=detail.type, data=detail.data)
    else:
        # Not a change (sync/unauthorized), or a change without the `data` serde requires.
        return None
    # As serde reads it: an absent `id` is None, and fields the variant does not have are gone.
    item_id = None if event.id is msgspec.UNSET else event.id
    return msgspec.structs.replace(event, id=item_id, event=change)
