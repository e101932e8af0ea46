"""The response channel a handler writes to: the sink interface bindings implement, and the
writer that gives handlers the iii SDK's ``ChannelWriter`` surface on top of any sink.

Rules: a sink receives body chunks (:meth:`ResponseSink.write`), control messages as text
(:meth:`ResponseSink.send_message_async`) and the end of the body
(:meth:`ResponseSink.close_async`); an iii SDK ``ChannelWriter`` is a sink. The
:class:`ResponseWriter` adds the fire-and-forget calls (``send_message``, ``close``,
``stream.write``, ``stream.end``) and runs every call, awaited or not, in the order it was
made, one at a time. Closing is idempotent; a write after it raises
:class:`~iii_core.http.ResponseClosed`. A fire-and-forget call needs a running event loop
(the SDK falls back to ``asyncio.run``, which cannot reach a binding's loop) and its errors
are not reported to the caller, as in the SDK; await the ``*_async``/``write`` calls to see
them. The writer performs no I/O itself: every byte goes to the sink.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, runtime_checkable

from iii_core.http._errors import ResponseClosed

__all__ = ["ResponseSink", "ResponseWriter", "WritableStream"]


@runtime_checkable
class ResponseSink(Protocol):
    """Where a binding receives a handler's response: chunks, control messages, the end."""

    async def write(self, data: bytes) -> None:
        """A body chunk (a binary frame)."""

    async def send_message_async(self, message: str) -> None:
        """A control message (a text frame), e.g. from ``StreamResponse.status``."""

    async def close_async(self) -> None:
        """The end of the body."""


class WritableStream:
    """The SDK's ``WritableStream``: fire-and-forget ``write`` and ``end``."""

    def __init__(self, writer: ResponseWriter) -> None:
        self._writer = writer

    def write(self, data: bytes) -> None:
        """Queue ``data`` to be written after every call made before this one."""
        self._writer._spawn(lambda: self._writer._write_now(data))

    def end(self, data: bytes | None = None) -> None:
        """Queue an optional last chunk and the end of the body."""
        if data is not None:
            self.write(data)
        self._writer.close()


class ResponseWriter:
    """The iii SDK ``ChannelWriter`` surface over a :class:`ResponseSink`, in call order."""

    def __init__(self, sink: ResponseSink) -> None:
        self._sink = sink
        self._closed = False
        self._last: asyncio.Future[None] | None = None
        self._spawned: set[asyncio.Task[None]] = set()
        self.stream = WritableStream(self)

    @property
    def closed(self) -> bool:
        """Whether the end of the body has been sent (or is being sent)."""
        return self._closed

    def _in_order(self, operation: Callable[[], Awaitable[None]]) -> Coroutine[Any, Any, None]:
        """Take the next place in line now; the returned coroutine runs ``operation`` there."""
        previous = self._last
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._last = done

        async def run() -> None:
            try:
                if previous is not None and not previous.done():
                    await asyncio.wait((previous,))
                await operation()
            finally:
                done.set_result(None)

        return run()

    def _spawn(self, operation: Callable[[], Awaitable[None]]) -> None:
        """Run ``operation`` in the background, in line after every call made so far."""
        task = asyncio.get_running_loop().create_task(self._in_order(operation))
        self._spawned.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._spawned.discard(task)
        if not task.cancelled():
            task.exception()  # fire-and-forget: retrieved here so asyncio does not warn

    async def _write_now(self, data: bytes) -> None:
        """Write a body chunk, without waiting for the line (the line's own step)."""
        if self._closed:
            raise ResponseClosed("the response body has already ended")
        await self._sink.write(data)

    async def _send_message_now(self, message: str) -> None:
        if self._closed:
            raise ResponseClosed("the response body has already ended")
        await self._sink.send_message_async(message)

    async def _close_now(self) -> None:
        if not self._closed:
            self._closed = True
            await self._sink.close_async()

    async def write(self, data: bytes) -> None:
        """Write a body chunk."""
        await self._in_order(lambda: self._write_now(data))

    async def send_message_async(self, message: str) -> None:
        """Send a text frame (a control message)."""
        await self._in_order(lambda: self._send_message_now(message))

    async def close_async(self) -> None:
        """End the body; later calls do nothing."""
        await self._in_order(self._close_now)

    def send_message(self, message: str) -> None:
        """Fire-and-forget :meth:`send_message_async`."""
        self._spawn(lambda: self._send_message_now(message))

    def close(self) -> None:
        """Fire-and-forget :meth:`close_async`."""
        self._spawn(self._close_now)
