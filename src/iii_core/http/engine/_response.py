"""The engine's side of a response: what HTTP response it makes of a handler's channel frames
and return value.

Rules (the engine's REST worker):
- Until the first body chunk the response is pending: control messages set its status
  (default 200) and headers. The first chunk starts a streamed response with them; later
  control messages are ignored. Closing the channel while pending sends the status and headers
  with an empty body.
- A return value that is not None, while the response is pending, makes a buffered response
  (:func:`buffered_response`) and control messages sent so far are dropped; once the stream has
  started, the return value is ignored. None keeps the response pending: it ends when the
  channel closes.
- An error while pending is a 500 with ``{"error": message, "error_id": id}``; once the stream
  has started it aborts the stream (the body cannot be completed).
- Buffered: ``status_code`` counts only as a non-negative integer, truncated to 16 bits as the
  engine's ``as u16`` does, and a code outside 100..999 means 200; ``headers`` is an object
  (string values only) or a list of ``"Name: value"`` lines (split at the first ``:``, both
  sides trimmed, empty names dropped); an absent ``body`` is ``{}``. With a ``content-type``
  header, a string body is sent as its text, a null body as nothing, and other bodies as JSON
  unless the content type names ``application/json``; otherwise the body is JSON with
  ``content-type: application/json`` added. A result that is not an object is read as ``{}``.
Pure: the caller feeds events and sends what comes back. No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

import msgspec

from iii_core._codec import encode
from iii_core._rust import rust_trim
from iii_core.http.engine._control import apply_control_message
from iii_core.http.engine._headers import JSON_CONTENT_TYPE, response_headers

__all__ = [
    "NOT_FOUND",
    "BufferedResponse",
    "ResponseAssembler",
    "ResponseEvent",
    "StreamAbort",
    "StreamChunk",
    "StreamEnd",
    "StreamStart",
    "buffered_response",
    "error_response",
]

Headers: TypeAlias = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class BufferedResponse:
    """A whole response: status, headers (lower-case names) and body."""

    status: int
    headers: Headers
    body: bytes


@dataclass(frozen=True, slots=True)
class StreamStart:
    """The status and headers of a streamed response; chunks follow."""

    status: int
    headers: Headers


@dataclass(frozen=True, slots=True)
class StreamChunk:
    """A chunk of a streamed body."""

    data: bytes


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The streamed body is complete."""


@dataclass(frozen=True, slots=True)
class StreamAbort:
    """The streamed body cannot be completed: drop the connection rather than end it cleanly."""


ResponseEvent: TypeAlias = BufferedResponse | StreamStart | StreamChunk | StreamEnd | StreamAbort

NOT_FOUND: Final = BufferedResponse(
    404, (("content-type", "text/plain; charset=utf-8"),), b"Not Found"
)
"""The engine's answer for a path no route matches."""


def _status(value: Any) -> int:
    if type(value) is not int or not 0 <= value < 2**64:
        return 200
    status = value & 0xFFFF
    return status if 100 <= status <= 999 else 200


def _header_line(line: str) -> tuple[str, str] | None:
    name, colon, value = line.partition(":")
    name = rust_trim(name)
    if not colon or not name:
        return None
    return name, rust_trim(value)


def _header_pairs(value: Any) -> list[tuple[str, str]]:
    if type(value) is list:
        lines = (_header_line(item) for item in value if type(item) is str)
        return [pair for pair in lines if pair is not None]
    if type(value) is dict:
        return [(name, text) for name, text in value.items() if type(text) is str]
    return []


def _render(body: Any, content_type: str | None) -> tuple[bytes, bool]:
    """The body bytes, and whether it is JSON that gets ``application/json`` unless a valid
    ``content-type`` header is already there."""
    if content_type is not None:
        if type(body) is str:
            return body.encode(), False
        if body is None:
            return b"", False
        if JSON_CONTENT_TYPE not in content_type.lower():
            return encode(body), False
    return encode(body), True


def buffered_response(result: Any) -> BufferedResponse:
    """The response the engine sends for a handler's non-null return value (JSON builtins)."""
    fields: Mapping[str, Any] = result if type(result) is dict else {}
    pairs = _header_pairs(fields.get("headers"))
    content_type = next(
        (value for name, value in pairs if name.isascii() and name.lower() == "content-type"),
        None,
    )
    body, json_default = _render(fields.get("body", {}), content_type)
    headers = response_headers(pairs)
    if json_default and not any(name == "content-type" for name, _ in headers):
        headers = (*headers, ("content-type", JSON_CONTENT_TYPE))
    return BufferedResponse(_status(fields.get("status_code")), headers, body)


def error_response(message: str, error_id: str) -> BufferedResponse:
    """The engine's 500 for a handler that failed before its response started."""
    body = encode({"error": message, "error_id": error_id})
    return BufferedResponse(500, (("content-type", JSON_CONTENT_TYPE),), body)


class ResponseAssembler:
    """Turns a handler's channel frames and outcome into response events, as the engine does.

    Each ``on_*`` method returns the events to send, in order, and never blocks. State:
    ``pending`` (nothing sent), ``streaming`` (status and headers sent) or ``done``.
    """

    def __init__(self) -> None:
        self._state: Literal["pending", "streaming", "done"] = "pending"
        self._status = 200
        self._headers: dict[str, str] = {}

    @property
    def state(self) -> Literal["pending", "streaming", "done"]:
        return self._state

    def _start(self) -> StreamStart:
        self._state = "streaming"
        return StreamStart(self._status, response_headers(self._headers.items()))

    def on_message(self, message: str) -> list[ResponseEvent]:
        """A text frame: a control message while pending, ignored afterwards."""
        if self._state == "pending":
            self._status, self._headers = apply_control_message(
                message, self._status, self._headers
            )
        return []

    def on_chunk(self, data: bytes) -> list[ResponseEvent]:
        """A body chunk: the first one, even empty, starts the stream; empty ones send nothing."""
        events: list[ResponseEvent] = []
        if self._state == "pending":
            events.append(self._start())
        if data and self._state == "streaming":
            events.append(StreamChunk(data))
        return events

    def on_close(self) -> list[ResponseEvent]:
        """The handler closed its response channel."""
        if self._state == "done":
            return []
        events: list[ResponseEvent] = [self._start()] if self._state == "pending" else []
        self._state = "done"
        return [*events, StreamEnd()]

    def on_return(self, result: Any) -> list[ResponseEvent]:
        """The handler returned ``result`` (a wire Struct or JSON builtins; None waits on)."""
        if result is None or self._state != "pending":
            return []
        response = buffered_response(msgspec.to_builtins(result))
        self._state = "done"
        return [response]

    def on_error(self, message: str, error_id: str) -> list[ResponseEvent]:
        """The handler failed with ``message``; ``error_id`` names the failure in the logs."""
        state, self._state = self._state, "done"
        if state == "pending":
            return [error_response(message, error_id)]
        return [StreamAbort()] if state == "streaming" else []
