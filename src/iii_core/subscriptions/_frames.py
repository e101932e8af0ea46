"""What a client sends on the stream socket: ``join`` and ``leave`` frames, decoded as the engine
decodes them.

Rules: a frame is ``{"type": "join" | "leave", "data": {"subscriptionId", "streamName",
"groupId", "id"?}}``; the three names are required strings, ``id`` is a string, ``null`` or
absent (a group subscription), and unknown fields are ignored, as serde ignores them. Text and
binary frames are read alike. A blank frame, a frame that is not such an object, or one nested
too deeply to decode is no request at all (``None``): the engine logs and ignores it, and the
connection stays open. One difference remains: a key repeated inside one object keeps its last
value here, where serde would reject the frame. Pure: no I/O.
"""

from __future__ import annotations

import msgspec

from iii_core._generated.stream import (
    StreamClientMessage,
    StreamJoinMessage,
    StreamLeaveMessage,
)

__all__ = ["decode_frame"]

_decoder: msgspec.json.Decoder[StreamJoinMessage | StreamLeaveMessage] = msgspec.json.Decoder(
    StreamClientMessage
)


def decode_frame(
    frame: bytes | bytearray | memoryview | str,
) -> StreamJoinMessage | StreamLeaveMessage | None:
    """The request a client frame carries, or ``None`` for a frame the engine ignores."""
    try:
        return _decoder.decode(frame)
    except (msgspec.DecodeError, RecursionError, UnicodeEncodeError):
        return None
