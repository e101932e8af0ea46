"""Plain HTTP/1.1 on the stream port: reading a request head and its body, writing a response.

Rules: a binding. The head is read up to the blank line (its size is bounded by the stream
reader's limit) and split into the request line and ``(name, value)`` header pairs, values
decoded as ISO-8859-1 so that every byte survives; the raw bytes are kept for the WebSocket
handshake parser. A body needs a ``Content-Length`` no larger than the server's limit
(``Transfer-Encoding`` is refused); ``Expect: 100-continue`` is answered. A connection is kept
alive unless the client says ``Connection: close`` or speaks HTTP/1.0 without ``keep-alive``.
Malformed requests raise :class:`BadRequest` carrying the status to answer with.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from http import HTTPStatus

from iii_core.errors import ErrorCode, IIICoreError

__all__ = ["BadRequest", "RequestHead", "read_body", "read_head", "response"]

_HEAD_END = b"\r\n\r\n"


class BadRequest(IIICoreError):
    """A request this server cannot read; answered with ``status`` and the connection closed."""

    code = ErrorCode.BAD_REQUEST

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class RequestHead:
    method: str
    target: str
    version: str
    headers: tuple[tuple[str, str], ...]
    raw: bytes

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == wanted:
                found = value
        return found

    def _tokens(self, name: str) -> set[str]:
        return {
            token.strip().lower()
            for key, value in self.headers
            if key.lower() == name
            for token in value.split(",")
        }

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def keep_alive(self) -> bool:
        connection = self._tokens("connection")
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection

    @property
    def wants_websocket(self) -> bool:
        return "websocket" in self._tokens("upgrade")


def _parse_head(raw: bytes) -> RequestHead:
    lines = raw[: -len(_HEAD_END)].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[2] not in (b"HTTP/1.1", b"HTTP/1.0") or not parts[1]:
        raise BadRequest(HTTPStatus.BAD_REQUEST, "malformed request line")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise BadRequest(HTTPStatus.BAD_REQUEST, "malformed header line")
        headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return RequestHead(
        method=parts[0].decode("latin-1"),
        target=parts[1].decode("latin-1"),
        version=parts[2].decode("ascii"),
        headers=tuple(headers),
        raw=raw,
    )


async def read_head(reader: asyncio.StreamReader) -> RequestHead | None:
    """The next request head, or ``None`` when the client closed the connection first."""
    try:
        raw = await reader.readuntil(_HEAD_END)
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise BadRequest(HTTPStatus.BAD_REQUEST, "connection closed mid-request") from None
        return None
    except asyncio.LimitOverrunError:
        raise BadRequest(
            HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "request head too large"
        ) from None
    return _parse_head(raw)


async def read_body(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: RequestHead, limit: int
) -> bytes:
    """The request's body (``b""`` without one), at most ``limit`` bytes; a client that sent
    ``Expect: 100-continue`` (curl does, for bodies over 1 KiB) is told to go on first."""
    if head.header("transfer-encoding") is not None:
        raise BadRequest(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length")
    declared = head.header("content-length")
    if declared is None:
        return b""
    if not declared.isdigit():
        raise BadRequest(HTTPStatus.BAD_REQUEST, "invalid Content-Length")
    length = int(declared)
    if length > limit:
        raise BadRequest(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body over {limit} bytes")
    if (head.header("expect") or "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        raise BadRequest(HTTPStatus.BAD_REQUEST, "connection closed mid-body") from None


def response(
    status: int, body: bytes, *, keep_alive: bool, content_type: str = "application/json"
) -> bytes:
    """A complete HTTP/1.1 response."""
    phrase = HTTPStatus(status).phrase
    head = (
        f"HTTP/1.1 {status} {phrase}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode("ascii") + body
