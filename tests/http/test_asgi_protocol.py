"""``iii_core.asgi`` against a scripted ASGI server: the protocol cases a real server makes hard to
reach deterministically (disconnect timing, sends that fail, bounded body buffering)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import pytest

from iii_core.asgi import asgi_app
from iii_core.http import ClientDisconnected, StreamRequest, StreamResponse, http


class ScriptedServer:
    """Feeds ``receive`` from a queue and records ``send``; a send after ``gone`` raises."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()
        self.sent: list[MutableMapping[str, Any]] = []
        self.received = 0
        self.gone = False

    async def receive(self) -> MutableMapping[str, Any]:
        message = await self.incoming.get()
        self.received += 1
        return message

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if self.gone:
            raise OSError("connection closed")  # as the ASGI spec lets servers report it
        self.sent.append(message)

    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")

    def status(self) -> int:
        return int(next(m["status"] for m in self.sent if m["type"] == "http.response.start"))


def scope(path: str = "/", headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers or [],
    }


Handler = Callable[[StreamRequest, StreamResponse], Awaitable[Any]]


async def serve(handler: Handler, server: ScriptedServer, **scope_args: Any) -> None:
    await asgi_app(http(handler))(scope(**scope_args), server.receive, server.send)


def test_a_write_that_finds_the_client_gone_raises_client_disconnected() -> None:
    seen: list[str] = []

    async def handler(request: StreamRequest, response: StreamResponse) -> None:
        await response.writer.write(b"one")
        server.gone = True
        try:
            await response.writer.write(b"two")
        except ClientDisconnected:
            seen.append("ClientDisconnected")
        with pytest.raises(ClientDisconnected):
            await response.writer.write(b"three")
        await response.writer.close_async()  # closing after the client left does nothing

    server = ScriptedServer()

    async def go() -> None:
        server.incoming.put_nowait({"type": "http.request", "body": b"", "more_body": False})
        await serve(handler, server)

    asyncio.run(go())
    assert seen == ["ClientDisconnected"]
    assert server.body() == b"one"


def test_the_disconnect_after_a_complete_response_cancels_nothing() -> None:
    steps: list[str] = []

    async def handler(request: StreamRequest, response: StreamResponse) -> str:
        await response.writer.write(b"done")
        await response.writer.close_async()
        server.incoming.put_nowait({"type": "http.disconnect"})  # what servers then say
        for _ in range(5):
            await asyncio.sleep(0)
        steps.append("still running")
        return "ignored: the stream has ended"

    server = ScriptedServer()

    async def go() -> None:
        server.incoming.put_nowait({"type": "http.request", "body": b"", "more_body": False})
        await serve(handler, server)

    asyncio.run(go())
    assert steps == ["still running"]
    assert (server.status(), server.body()) == (200, b"done")


def test_a_disconnect_mid_body_reaches_the_reader_and_cancels_the_handler() -> None:
    seen: list[str] = []

    async def handler(request: StreamRequest, response: StreamResponse) -> None:
        try:
            async for chunk in request.request_body:
                seen.append(chunk.decode())
                server.incoming.put_nowait({"type": "http.disconnect"})
        except BaseException as error:
            seen.append(type(error).__name__)
            raise

    server = ScriptedServer()

    async def go() -> None:
        server.incoming.put_nowait({"type": "http.request", "body": b"a", "more_body": True})
        await serve(handler, server)

    asyncio.run(go())
    assert seen[0] == "a"
    assert seen[1] == "CancelledError"  # the handler is cancelled as the disconnect arrives
    assert server.sent == []


def test_a_disconnect_while_reading_a_json_body_never_calls_the_handler() -> None:
    called: list[bool] = []

    async def handler(request: StreamRequest, response: StreamResponse) -> None:
        called.append(True)

    server = ScriptedServer()

    async def go() -> None:
        server.incoming.put_nowait({"type": "http.request", "body": b"{", "more_body": True})
        server.incoming.put_nowait({"type": "http.disconnect"})
        await serve(handler, server, headers=[(b"content-type", b"application/json")])

    asyncio.run(go())
    assert (called, server.sent) == ([], [])


def test_the_body_is_read_at_most_sixteen_chunks_ahead() -> None:
    counts: list[int] = []

    async def handler(request: StreamRequest, response: StreamResponse) -> dict[str, Any]:
        for _ in range(20):
            await asyncio.sleep(0)
        counts.append(server.received)
        size = len(await request.request_body.read_all())
        return {"body": {"size": size}}

    server = ScriptedServer()

    async def go() -> None:
        for _ in range(99):
            server.incoming.put_nowait({"type": "http.request", "body": b"x", "more_body": True})
        server.incoming.put_nowait({"type": "http.request", "body": b"x", "more_body": False})
        await serve(handler, server)

    asyncio.run(go())
    assert counts[0] <= 16 + 1  # 16 chunks queued, one more received and waiting for room
    assert json.loads(server.body()) == {"size": 100}


def test_a_return_value_without_a_json_form_is_a_500() -> None:
    async def handler(request: StreamRequest, response: StreamResponse) -> object:
        return object()

    server = ScriptedServer()

    async def go() -> None:
        server.incoming.put_nowait({"type": "http.request", "body": b"", "more_body": False})
        await serve(handler, server)

    asyncio.run(go())
    assert server.status() == 500
    assert json.loads(server.body())["error"].startswith("Encoding objects of type object")


def test_lifespan_and_websocket() -> None:
    sent: list[MutableMapping[str, Any]] = []

    async def go() -> None:
        app = asgi_app({})
        incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

        async def receive() -> MutableMapping[str, Any]:
            return incoming.pop(0)

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)

        await app({"type": "lifespan"}, receive, send)
        await app({"type": "websocket", "path": "/"}, receive, send)

    asyncio.run(go())
    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
        "websocket.close",
    ]


def test_routes_must_start_with_a_slash() -> None:
    async def handler(request: StreamRequest, response: StreamResponse) -> None:
        return None

    with pytest.raises(ValueError, match="starts with '/'"):
        asgi_app({"users/:id": http(handler)})
