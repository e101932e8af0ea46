"""ASGI binding: serve handlers wrapped with ``iii_core.http.http()`` under any ASGI3 server.

Rules: :func:`asgi_app` takes one wrapped handler (it serves every path) or a mapping of routes
(``/users/:id``) to wrapped handlers, and returns an ASGI3 application that does what the iii
engine's REST worker does around a handler (``iii_core.http.engine`` decides, this module only
moves bytes):
- the handler gets the engine's request payload; a JSON request's body is read whole first,
  parsed into ``body`` and also offered on ``request_body``; any other body streams to
  ``request_body`` as it arrives, with at most 16 chunks buffered ahead of the handler;
- the response streams (status and headers from ``StreamResponse.status``/``headers``, sent
  with the first chunk), or is buffered from a non-null return value, or is a 500
  ``{"error", "error_id"}`` when the handler raises before it streamed anything; a handler that
  raises mid-stream makes the server drop the connection, so the client sees a truncated body;
- when the handler returns, its queued fire-and-forget writes run, then the body is ended if the
  handler did not end it (the engine would wait for the channel to close);
- when the client disconnects before the response is complete, the handler is cancelled
  (``asyncio.CancelledError`` where it waits), and a response write or body read after that
  raises ``ClientDisconnected``; the server goes on serving other requests;
- a path no route serves gets the engine's 404 ``Not Found``; lifespan events are acknowledged;
  a websocket connection is refused.
Handler failures are logged on the ``iii_core.asgi`` logger with their ``error_id``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping
from typing import Any, Final, TypeAlias

from iii_core.http import ClientDisconnected, RequestBody, ResponseWriter
from iii_core.http.engine import (
    NOT_FOUND,
    BufferedResponse,
    ResponseAssembler,
    ResponseEvent,
    StreamAbort,
    StreamChunk,
    StreamEnd,
    StreamStart,
    engine_request,
    is_json_request,
    match_route,
    parse_json_body,
)

__all__ = ["ASGIApp", "WrappedHandler", "asgi_app"]

Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]
WrappedHandler: TypeAlias = Callable[[Any], Awaitable[Any]]
"""What ``http(callback)`` returns: a function of the engine's request payload."""

_log = logging.getLogger("iii_core.asgi")
_BODY_CHUNKS_AHEAD: Final = 16


def asgi_app(handler: WrappedHandler | Mapping[str, WrappedHandler]) -> ASGIApp:
    """An ASGI3 application serving ``handler``, or the routes of a ``{route: handler}`` map."""
    single: WrappedHandler | None = None
    routes: dict[str, WrappedHandler] = {}
    if isinstance(handler, Mapping):
        routes = dict(handler)
        for route in routes:
            if not route.startswith("/"):
                raise ValueError(f"a route starts with '/': {route!r}")
    else:
        single = handler

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        if kind != "http":
            await send({"type": "websocket.close", "code": 1000})
            return
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        if single is not None:
            route, target = path, single
        else:
            found = match_route(routes, path)
            if found is None:
                await _send_events(send, [NOT_FOUND])
                return
            route, target = found, routes[found]
        await _Exchange(scope, receive, send).serve(target, route, path)

    return app


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _asgi_headers(headers: tuple[tuple[str, str], ...]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("ascii"), value.encode()) for name, value in headers]


async def _send_events(send: Send, events: list[ResponseEvent]) -> None:
    for event in events:
        if isinstance(event, BufferedResponse):
            headers = _asgi_headers(event.headers)
            if not any(name == b"content-length" for name, _ in headers):
                headers.append((b"content-length", str(len(event.body)).encode()))
            await send({"type": "http.response.start", "status": event.status, "headers": headers})
            await send({"type": "http.response.body", "body": event.body, "more_body": False})
        elif isinstance(event, StreamStart):
            headers = _asgi_headers(event.headers)
            await send({"type": "http.response.start", "status": event.status, "headers": headers})
        elif isinstance(event, StreamChunk):
            await send({"type": "http.response.body", "body": event.data, "more_body": True})
        elif isinstance(event, StreamEnd):
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _once(raw: bytes) -> AsyncIterator[bytes]:
    yield raw


class _Exchange:
    """One request and its response: the sink and the body source the handler is given."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._scope = scope
        self._receive = receive
        self._send = send
        self._assembler = ResponseAssembler()
        self._sending = asyncio.Lock()
        self._body: asyncio.Queue[bytes | ClientDisconnected | None] = asyncio.Queue(
            _BODY_CHUNKS_AHEAD
        )
        self._disconnected = False
        self._handler: asyncio.Future[Any] | None = None

    # --- the ResponseSink the handler's StreamResponse writes to ---------------------------

    async def write(self, data: bytes) -> None:
        async with self._sending:
            await self._emit(self._assembler.on_chunk(data))

    async def send_message_async(self, message: str) -> None:
        async with self._sending:
            await self._emit(self._assembler.on_message(message))

    async def close_async(self) -> None:
        async with self._sending:
            if not self._disconnected:
                await self._emit(self._assembler.on_close())

    async def _emit(self, events: list[ResponseEvent]) -> None:
        if self._disconnected:
            raise ClientDisconnected("the HTTP client disconnected")
        try:
            await _send_events(self._send, events)
        except OSError as error:  # how ASGI servers report a send to a closed connection
            self._on_disconnect()
            raise ClientDisconnected("the HTTP client disconnected") from error

    # --- the request body and the disconnect ------------------------------------------------

    async def _pump(self) -> None:
        ended = False
        while True:
            message = await self._receive()
            if message["type"] == "http.request" and not ended:
                chunk = message.get("body", b"")
                if chunk:
                    await self._body.put(chunk)
                if not message.get("more_body", False):
                    ended = True
                    await self._body.put(None)
            elif message["type"] == "http.disconnect":
                # Servers also say "disconnect" once the response is complete: not a client gone.
                if self._assembler.state != "done":
                    self._on_disconnect()
                return

    def _on_disconnect(self) -> None:
        self._disconnected = True
        while not self._body.empty():
            self._body.get_nowait()
        self._body.put_nowait(ClientDisconnected("the HTTP client disconnected mid-body"))
        if self._handler is not None:
            self._handler.cancel("the HTTP client disconnected")

    async def _body_chunks(self) -> AsyncIterator[bytes]:
        while True:
            item = await self._body.get()
            if item is None:
                return
            if isinstance(item, ClientDisconnected):
                raise item
            yield item

    # --- one call -------------------------------------------------------------------------

    async def serve(self, handler: WrappedHandler, route: str, path: str) -> None:
        pump = asyncio.ensure_future(self._pump())
        try:
            await self._serve(handler, route, path)
        finally:
            pump.cancel()
            await asyncio.wait((pump,))
            if not pump.cancelled() and pump.exception() is not None:
                _log.error("reading the request failed", exc_info=pump.exception())

    async def _serve(self, handler: WrappedHandler, route: str, path: str) -> None:
        scope = self._scope
        headers = scope.get("headers", [])
        body: Any = None
        if is_json_request(headers):
            try:
                raw = b"".join([chunk async for chunk in self._body_chunks()])
            except ClientDisconnected:
                return
            body = parse_json_body(raw)
            source = RequestBody(_once(raw))
        else:
            source = RequestBody(self._body_chunks())
        writer = ResponseWriter(self)
        request = engine_request(
            method=scope["method"],
            route=route,
            path=path,
            query_string=scope.get("query_string", b""),
            headers=headers,
            body=body,
            request_body=source,
            response=writer,
        )
        self._handler = task = asyncio.ensure_future(handler(request))
        try:
            await asyncio.wait((task,))
        finally:
            task.cancel()  # a no-op once it is done; otherwise our caller was cancelled
        if self._disconnected:
            return
        error = asyncio.CancelledError() if task.cancelled() else task.exception()
        try:
            if error is None:
                try:
                    async with self._sending:
                        await self._emit(self._assembler.on_return(task.result()))
                except TypeError as not_json:  # a return value that has no JSON form
                    error = not_json
                else:
                    await writer.close_async()
                    return
            await self._fail(error)
        except ClientDisconnected:
            return

    async def _fail(self, error: BaseException) -> None:
        error_id = format(time.time_ns() & 0xFFFFFFFFFFFF, "x")
        async with self._sending:
            events = self._assembler.on_error(str(error), error_id)
            if any(isinstance(event, StreamAbort) for event in events):
                raise error  # the server drops the connection: the body is truncated, visibly
            _log.error("HTTP handler failed (error_id %s)", error_id, exc_info=error)
            await self._emit(events)
