"""What a wrapped HTTP handler receives: :class:`StreamRequest` and :class:`StreamResponse`
(the iii SDK's ``iii.types``), and :class:`InternalHttpRequest`, the request with its channels.

Rules: as in the SDK, ``StreamRequest`` is a plain dataclass without a ``response`` field and
its ``request_body`` is the source the binding gave; ``StreamResponse.status`` and
``headers`` send the SDK's control messages (no validation: the engine's side ignores what it
cannot use); ``writer`` is the response channel with the SDK ``ChannelWriter`` surface,
``stream`` its fire-and-forget ``WritableStream``, ``close()`` a fire-and-forget close. Every
response call runs in the order it was made. No I/O of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from iii_core.http._sink import ResponseSink, ResponseWriter, WritableStream
from iii_core.http._source import RequestBodySource
from iii_core.http.engine._control import set_headers_message, set_status_message

__all__ = ["InternalHttpRequest", "StreamRequest", "StreamResponse"]


@dataclass
class InternalHttpRequest:
    """An HTTP request with its response sink and request-body source (``iii.types``)."""

    path_params: dict[str, str]
    query_params: dict[str, str | list[str]]
    body: Any
    headers: dict[str, str | list[str]]
    method: str
    response: ResponseSink
    request_body: RequestBodySource


@dataclass
class StreamRequest:
    """The request a wrapped handler receives; the body streams from ``request_body``."""

    path_params: dict[str, str]
    query_params: dict[str, str | list[str]]
    body: Any
    headers: dict[str, str | list[str]]
    method: str
    request_body: RequestBodySource


class StreamResponse:
    """The response a wrapped handler writes: status and headers, then body chunks."""

    def __init__(self, sink: ResponseSink) -> None:
        self._writer = sink if isinstance(sink, ResponseWriter) else ResponseWriter(sink)

    async def status(self, status_code: int) -> None:
        """Set the status of a streamed response (before the first chunk)."""
        await self._writer.send_message_async(set_status_message(status_code))

    async def headers(self, headers: dict[str, str]) -> None:
        """Set headers of a streamed response (before the first chunk)."""
        await self._writer.send_message_async(set_headers_message(headers))

    @property
    def stream(self) -> WritableStream:
        """Fire-and-forget ``write(chunk)`` and ``end(chunk=None)``."""
        return self._writer.stream

    @property
    def writer(self) -> ResponseWriter:
        """``await write(chunk)``, ``await close_async()``, ``send_message(text)``..."""
        return self._writer

    def close(self) -> None:
        """Fire-and-forget end of the body."""
        self._writer.close()
