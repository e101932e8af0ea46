"""The request-body channel a handler reads: the source interface, and the implementation
bindings build from the chunks they receive.

Rules: a source is what the iii SDK's ``ChannelReader`` offers a handler: ``async for chunk``
(bytes), ``await read_all()`` and ``on_message(callback)`` for text frames; an SDK
``ChannelReader`` is a source. :class:`RequestBody` reads its chunks once, in order: a second
``async for`` or ``read_all`` goes on where the last one stopped (so after the end it yields
nothing); empty chunks are skipped. The engine's request channel carries only binary frames, so
its ``on_message`` callbacks are kept and never called. An error of the underlying chunks
(``ClientDisconnected`` for a client gone mid-body) reaches the reader. No I/O of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any, Protocol, runtime_checkable

__all__ = ["RequestBody", "RequestBodySource"]


@runtime_checkable
class RequestBodySource(Protocol):
    """Where a handler reads the request body from."""

    def __aiter__(self) -> AsyncIterator[bytes]:
        """The body's chunks, in order."""
        ...

    async def read_all(self) -> bytes:
        """The rest of the body, whole."""
        ...

    def on_message(self, callback: Callable[[str], Any]) -> None:
        """Call ``callback`` with each text frame of the channel."""


class RequestBody:
    """A :class:`RequestBodySource` over the body chunks a binding receives."""

    def __init__(self, chunks: AsyncIterable[bytes]) -> None:
        self._chunks = chunks.__aiter__()
        self._callbacks: list[Callable[[str], Any]] = []

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            if chunk:
                yield chunk

    async def read_all(self) -> bytes:
        return b"".join([chunk async for chunk in self])

    def on_message(self, callback: Callable[[str], Any]) -> None:
        self._callbacks.append(callback)
