"""What the server needs of an HTTP/1.1 request and response, on top of h11.

Rules: a binding. h11 parses and frames every request (Content-Length or chunked bodies,
pipelining, ``Expect: 100-continue``, HEAD answered without a body); this module only gives a
request's head a convenient shape and serialises the server's answers through h11. Header
values are decoded as ISO-8859-1, so that every byte survives.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Final

import h11

__all__ = ["Refusal", "RequestHead", "response_bytes"]

_REASONS: Final = {status.value: status.phrase.encode() for status in HTTPStatus}


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request refused from its head alone: answered with ``status`` and closed."""

    status: int
    code: str
    message: str
    extra_headers: tuple[tuple[bytes, bytes], ...] = ()


@dataclass(frozen=True, slots=True)
class RequestHead:
    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    """``(name, value)`` pairs in order, names as sent."""
    http_version: str
    by_name: dict[str, str]
    """The last value of each header, by lowercased name."""
    path: str
    """The target without its query."""
    size: int
    """The head's size as sent, give or take optional whitespace."""

    @classmethod
    def from_h11(cls, request: h11.Request) -> RequestHead:
        headers = tuple(
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request.headers.raw_items()
        )
        method = request.method.decode("latin-1")
        target = request.target.decode("latin-1")
        http_version = request.http_version.decode("latin-1")
        size = len(method) + len(target) + len(http_version) + 11
        for name, value in headers:
            size += len(name) + len(value) + 4
        return cls(
            method=method,
            target=target,
            headers=headers,
            http_version=http_version,
            by_name={name.lower(): value for name, value in headers},
            path=target.partition("?")[0],
            size=size,
        )

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (lowercase), or ``None``."""
        return self.by_name.get(name)

    @property
    def wants_websocket(self) -> bool:
        upgrade = self.header("upgrade") or ""
        return self.method == "GET" and "websocket" in upgrade.lower()

    def raw(self) -> bytes:
        """The head as it came (one header per line), for the WebSocket handshake parser."""
        lines = [f"{self.method} {self.target} HTTP/{self.http_version}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def response_bytes(
    connection: h11.Connection,
    status: int,
    body: bytes,
    *,
    head_only: bool = False,
    close: bool = False,
    content_type: bytes = b"application/json",
    extra_headers: tuple[tuple[bytes, bytes], ...] = (),
) -> bytes:
    """A complete response through ``connection`` (its state moves on); ``head_only`` for a
    HEAD request (the headers of the body, not the body)."""
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        *extra_headers,
    ]
    if close:
        headers.append((b"connection", b"close"))
    reason = _REASONS.get(status) or HTTPStatus(status).phrase.encode()
    out = connection.send(h11.Response(status_code=status, headers=headers, reason=reason)) or b""
    if body and not head_only:
        out += connection.send(h11.Data(data=body)) or b""
    return out + (connection.send(h11.EndOfMessage()) or b"")
