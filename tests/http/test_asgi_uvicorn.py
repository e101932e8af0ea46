"""Handlers wrapped with ``http()`` serving real HTTP traffic: ``iii_core.asgi`` under uvicorn on a
loopback port, driven by httpx."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from iii_core.asgi import asgi_app
from iii_core.http import ClientDisconnected, HttpResponse, StreamRequest, StreamResponse, http
from tests.http._server import serving

WAIT = 10.0  # an upper bound for cross-thread hand-offs, never an expectation of speed


class Observed:
    """What the handlers saw, shared with the test thread."""

    def __init__(self) -> None:
        self.outcomes: list[str] = []
        self.handler_done = threading.Event()
        self._acks: dict[int, asyncio.Event] = {}

    def ack(self, n: int) -> asyncio.Event:
        return self._acks.setdefault(n, asyncio.Event())


observed = Observed()


@http
async def echo(request: StreamRequest, response: StreamResponse) -> HttpResponse:
    raw = await request.request_body.read_all()
    return HttpResponse(
        status_code=200,
        body={
            "method": request.method,
            "path_params": request.path_params,
            "query_params": request.query_params,
            "headers": {k: v for k, v in request.headers.items() if k.startswith("x-")},
            "content_type": request.headers.get("content-type"),
            "body": request.body,
            "raw": raw.decode(),
        },
    )


@http
async def digest(request: StreamRequest, response: StreamResponse) -> dict[str, Any]:
    hasher, size = hashlib.sha256(), 0
    async for chunk in request.request_body:
        hasher.update(chunk)
        size += len(chunk)
    return {"status_code": 200, "body": {"sha256": hasher.hexdigest(), "bytes": size}}


@http
async def sse(request: StreamRequest, response: StreamResponse) -> None:
    await response.status(200)
    await response.headers({"content-type": "text/event-stream", "cache-control": "no-cache"})
    for n in range(3):
        await response.writer.write(f"data: {n}\n\n".encode())
        await observed.ack(n).wait()  # the next event only once the client has read this one
    await response.writer.close_async()


@http
async def ack(request: StreamRequest, response: StreamResponse) -> dict[str, Any]:
    observed.ack(int(str(request.query_params["n"]))).set()
    return {"status_code": 204, "body": None, "headers": {"content-type": "text/plain"}}


@http
async def buffered(request: StreamRequest, response: StreamResponse) -> HttpResponse:
    await response.status(500)  # dropped: a returned response wins while nothing streamed
    return HttpResponse(
        status_code=201, headers={"X-Custom": "abc", "Content-Type": "text/plain"}, body="hello"
    )


@http
async def header_lines(request: StreamRequest, response: StreamResponse) -> dict[str, Any]:
    return {"status_code": 418, "headers": ["X-A: 1", "bad line"], "body": {"ok": True}}


@http
async def fail(request: StreamRequest, response: StreamResponse) -> None:
    raise RuntimeError("boom")


@http
async def fail_mid_stream(request: StreamRequest, response: StreamResponse) -> None:
    await response.writer.write(b"partial")
    raise RuntimeError("boom mid-stream")


@http
async def parked(request: StreamRequest, response: StreamResponse) -> None:
    try:
        await response.headers({"content-type": "text/event-stream"})
        await response.writer.write(b"data: first\n\n")
        await asyncio.Event().wait()  # never set: only the client's leaving ends this
    except BaseException as error:
        observed.outcomes.append(type(error).__name__)
        try:
            await response.writer.write(b"data: after\n\n")
        except ClientDisconnected:
            observed.outcomes.append("ClientDisconnected")
        raise
    finally:
        observed.handler_done.set()


@http
async def fire_and_forget(request: StreamRequest, response: StreamResponse) -> None:
    await response.status(202)
    response.stream.write(b"one,")
    response.stream.write(b"two")
    # returns without ending the body: the binding ends it after the queued writes


@http
async def status_only(request: StreamRequest, response: StreamResponse) -> None:
    await response.status(202)
    await response.headers({"x-only": "headers", "x-number": 5})  # type: ignore[dict-item]
    response.close()


@http
async def late_status(request: StreamRequest, response: StreamResponse) -> None:
    await response.writer.write(b"body")
    await response.status(500)  # ignored once the body has started
    await response.writer.close_async()


ROUTES = {
    "/echo/:id": echo,
    "/digest": digest,
    "/sse": sse,
    "/ack": ack,
    "/buffered": buffered,
    "/lines": header_lines,
    "/fail": fail,
    "/fail-mid-stream": fail_mid_stream,
    "/parked": parked,
    "/fire-and-forget": fire_and_forget,
    "/status-only": status_only,
    "/late-status": late_status,
}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serving(asgi_app(ROUTES)) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=WAIT) as http_client:
        yield http_client


def test_path_query_headers_and_method(client: httpx.Client) -> None:
    response = client.request(
        "PATCH",
        "/echo/a%20b?x=1&x=2&flag&q=a+b",
        headers=[("X-One", "1"), ("X-Twice", "a"), ("X-Twice", "b")],
        content=b"raw text",
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "method": "PATCH",
        "path_params": {"id": "a%20b"},
        "query_params": {"x": "2", "flag": "", "q": "a b"},
        "headers": {"x-one": "1", "x-twice": "b"},
        "content_type": None,
        "body": None,
        "raw": "raw text",
    }


def test_json_body_is_parsed_and_also_streamed(client: httpx.Client) -> None:
    raw = '{"z":2, "a":1}'
    response = client.post("/echo/1", content=raw, headers={"content-type": "application/json"})
    assert response.json()["body"] == {"z": 2, "a": 1}
    assert response.json()["raw"] == raw  # test_api_triggers.py: read_all() gives the bytes


def test_unparsable_json_body_is_null(client: httpx.Client) -> None:
    response = client.post("/echo/1", content="{nope", headers={"content-type": "application/json"})
    assert (response.json()["body"], response.json()["raw"]) == (None, "{nope")


def test_form_bodies_come_only_through_the_channel(client: httpx.Client) -> None:
    response = client.post("/echo/1", data={"a": "1", "b": "2"})
    assert response.json()["body"] is None
    assert response.json()["raw"] == "a=1&b=2"
    files = client.post("/echo/1", files={"f": ("f.txt", b"file content")})
    assert files.json()["body"] is None
    assert "file content" in files.json()["raw"]


def test_large_streamed_request_body(client: httpx.Client) -> None:
    chunk_size, chunks = 64 * 1024, 320  # 20 MiB
    expected = hashlib.sha256()

    def body() -> Iterator[bytes]:
        for n in range(chunks):
            chunk = bytes([n % 251]) * chunk_size
            expected.update(chunk)
            yield chunk

    response = client.post("/digest", content=body())
    assert response.json() == {"sha256": expected.hexdigest(), "bytes": chunk_size * chunks}


def test_server_sent_events_arrive_one_by_one(client: httpx.Client, base_url: str) -> None:
    with (
        httpx.Client(base_url=base_url, timeout=WAIT) as acks,
        client.stream("GET", "/sse") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        assert response.headers["cache-control"] == "no-cache"
        assert "content-length" not in response.headers
        lines = response.iter_lines()
        received = []
        for n in range(3):
            line = next(lines)
            assert line == f"data: {n}"
            assert next(lines) == ""
            received.append(line)
            # The handler writes event n+1 only after this acknowledgement, which is sent only
            # once event n has been read: the events cannot have been delivered in one piece.
            assert acks.get("/ack", params={"n": n}).status_code == 204
        assert list(lines) == []
    assert received == ["data: 0", "data: 1", "data: 2"]


def test_buffered_response_with_status_and_headers(client: httpx.Client) -> None:
    response = client.get("/buffered")
    assert response.status_code == 201
    assert response.headers["x-custom"] == "abc"
    assert response.headers["content-type"] == "text/plain"
    assert response.headers["content-length"] == "5"
    assert response.text == "hello"


def test_dict_response_with_header_lines(client: httpx.Client) -> None:
    response = client.get("/lines")
    assert response.status_code == 418
    assert response.headers["x-a"] == "1"
    assert response.json() == {"ok": True}


def test_handler_error_is_a_500(client: httpx.Client) -> None:
    response = client.get("/fail")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] == "boom"
    assert set(body) == {"error", "error_id"}
    int(body["error_id"], 16)


def test_handler_error_mid_stream_truncates_the_body(client: httpx.Client) -> None:
    with client.stream("GET", "/fail-mid-stream") as response:
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            response.read()
    assert client.get("/buffered").status_code == 201


def test_client_disconnect_mid_stream(client: httpx.Client, base_url: str) -> None:
    observed.outcomes.clear()
    observed.handler_done.clear()
    with (
        httpx.Client(base_url=base_url, timeout=WAIT) as leaving,
        leaving.stream("GET", "/parked") as response,
    ):
        assert next(response.iter_lines()) == "data: first"
    # leaving the block closes the unfinished response: the connection is dropped
    assert observed.handler_done.wait(WAIT)
    assert observed.outcomes == ["CancelledError", "ClientDisconnected"]
    assert client.get("/buffered").status_code == 201  # the server goes on serving
    assert client.get("/echo/1").status_code == 200


def test_queued_writes_run_before_the_body_ends(client: httpx.Client) -> None:
    response = client.get("/fire-and-forget")
    assert (response.status_code, response.text) == (202, "one,two")


def test_status_and_headers_without_a_body(client: httpx.Client) -> None:
    response = client.get("/status-only")
    assert response.status_code == 202
    assert response.headers["x-only"] == "headers"
    assert "x-number" not in response.headers  # only string values are applied
    assert response.content == b""


def test_status_after_the_first_chunk_is_ignored(client: httpx.Client) -> None:
    response = client.get("/late-status")
    assert (response.status_code, response.text) == (200, "body")


def test_unknown_path_is_404(client: httpx.Client) -> None:
    response = client.get("/nowhere")
    assert (response.status_code, response.text) == (404, "Not Found")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


def test_single_handler_serves_every_path() -> None:
    with serving(asgi_app(echo)) as url, httpx.Client(base_url=url, timeout=WAIT) as c:
        answer = c.get("/any/path?x=1").json()
        assert (answer["path_params"], answer["query_params"]) == ({}, {"x": "1"})
        assert json.loads(c.post("/", json=[1]).content)["body"] == [1]
