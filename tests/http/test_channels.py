"""The response writer and the request body a handler uses: the SDK's calls, the control
messages on the wire, call order, closing, and reading a body."""

from __future__ import annotations

import asyncio
import gc
import json
import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iii_core.http import (
    ClientDisconnected,
    RequestBody,
    RequestBodySource,
    ResponseClosed,
    ResponseSink,
    ResponseWriter,
    StreamResponse,
)
from tests.http._fakes import RecordingSink, body_of


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_status_and_headers_are_the_sdk_text_frames() -> None:
    async def go() -> list[tuple[str, Any]]:
        sink = RecordingSink()
        response = StreamResponse(sink)
        await response.status(404)
        await response.headers({"content-type": "text/plain", "x-n": "1"})
        await response.status(1000)  # not validated here: the engine's side ignores it
        return sink.frames

    assert run(go()) == [
        ("text", '{"type": "set_status", "status_code": 404}'),
        ("text", '{"type": "set_headers", "headers": {"content-type": "text/plain", "x-n": "1"}}'),
        ("text", '{"type": "set_status", "status_code": 1000}'),
    ]


def test_writer_stream_and_close() -> None:
    async def go() -> list[tuple[str, Any]]:
        sink = RecordingSink(pause=True)
        response = StreamResponse(sink)
        assert response.writer is response.writer
        await response.writer.write(b"a")
        response.stream.write(b"b")  # fire-and-forget, yet in order
        response.writer.send_message("ignored-by-engine")
        response.stream.end(b"c")
        await response.writer.close_async()  # after everything queued; idempotent
        assert response.writer.closed
        return sink.frames

    assert run(go()) == [
        ("binary", b"a"),
        ("binary", b"b"),
        ("text", "ignored-by-engine"),
        ("binary", b"c"),
        ("close", None),
    ]


def test_close_is_fire_and_forget_and_then_writes_fail() -> None:
    async def go() -> None:
        sink = RecordingSink(pause=True)
        response = StreamResponse(sink)
        response.close()
        with pytest.raises(ResponseClosed):
            await response.writer.write(b"late")
        with pytest.raises(ResponseClosed):
            await response.writer.send_message_async("late")
        await response.writer.close_async()
        assert sink.frames == [("close", None)]

    run(go())


def test_failed_fire_and_forget_calls_do_not_warn_or_block_the_line() -> None:
    class Failing(RecordingSink):
        async def write(self, data: bytes) -> None:
            raise ClientDisconnected("gone")

    async def go() -> list[tuple[str, Any]]:
        sink = Failing()
        writer = ResponseWriter(sink)
        writer.stream.write(b"x")
        await writer.send_message_async("after")
        return sink.frames

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run(go()) == [("text", "after")]
        gc.collect()


def test_a_cancelled_caller_gives_up_its_place() -> None:
    async def go() -> list[tuple[str, Any]]:
        gate = asyncio.Event()

        class Slow(RecordingSink):
            async def write(self, data: bytes) -> None:
                await gate.wait()
                await super().write(data)

        sink = Slow()
        writer = ResponseWriter(sink)
        writer.stream.write(b"slow")
        waiting = asyncio.ensure_future(writer.write(b"never"))
        await asyncio.sleep(0)
        waiting.cancel()
        gate.set()
        await writer.write(b"last")
        return sink.frames

    assert run(go()) == [("binary", b"slow"), ("binary", b"last")]


def test_a_writer_is_reused_as_the_response_sink() -> None:
    sink = RecordingSink()

    async def go() -> None:
        writer = ResponseWriter(sink)
        assert StreamResponse(writer).writer is writer

    run(go())
    assert isinstance(sink, ResponseSink)


operations = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["write", "stream.write"]), st.binary(min_size=1, max_size=3)),
        st.tuples(st.sampled_from(["message", "send_message"]), st.text(max_size=3)),
    ),
    max_size=12,
)


@given(operations, st.booleans())
@settings(max_examples=100, deadline=None)
def test_every_call_reaches_the_sink_in_call_order(ops: list[tuple[str, Any]], pause: bool) -> None:
    async def go() -> list[tuple[str, Any]]:
        sink = RecordingSink(pause=pause)
        writer = ResponseWriter(sink)
        for name, argument in ops:
            if name == "write":
                await writer.write(argument)
            elif name == "stream.write":
                writer.stream.write(argument)
            elif name == "message":
                await writer.send_message_async(argument)
            else:
                writer.send_message(argument)
        await writer.close_async()
        return sink.frames

    expected = [("binary" if "write" in name else "text", argument) for name, argument in ops]
    assert run(go()) == [*expected, ("close", None)]


# --- the request body ----------------------------------------------------------------------------


def test_body_iterates_reads_all_and_goes_on_where_it_stopped() -> None:
    async def go() -> None:
        body = body_of(b"ab", b"", b"cd", b"ef")
        assert isinstance(body, RequestBodySource)
        async for chunk in body:
            assert chunk == b"ab"
            break
        assert await body.read_all() == b"cdef"
        assert await body.read_all() == b""
        assert [chunk async for chunk in body] == []

    run(go())


def test_body_on_message_is_accepted_and_never_called() -> None:
    async def go() -> list[str]:
        calls: list[str] = []
        body = body_of(b'{"a": 1}')
        body.on_message(calls.append)
        assert json.loads(await body.read_all()) == {"a": 1}
        return calls

    assert run(go()) == []


def test_body_errors_reach_the_reader() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"part"
        raise ClientDisconnected("gone mid-body")

    async def go() -> None:
        with pytest.raises(ClientDisconnected):
            await RequestBody(chunks()).read_all()

    run(go())


@given(st.lists(st.binary(max_size=8), max_size=10), st.integers(0, 10))
@settings(max_examples=100, deadline=None)
def test_body_reads_equal_the_concatenation(chunks: list[bytes], first: int) -> None:
    async def go() -> tuple[list[bytes], bytes]:
        body = body_of(*chunks)
        head: list[bytes] = []
        async for chunk in body:
            head.append(chunk)
            if len(head) >= first:
                break
        return head, await body.read_all()

    head, rest = run(go())
    non_empty = [c for c in chunks if c]
    assert all(head) and b"".join(head) + rest == b"".join(chunks)
    assert head == non_empty[: len(head)]
