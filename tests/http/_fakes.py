"""In-memory sinks and sources for handler tests: they record what a handler does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from iii_core.http import RequestBody


class RecordingSink:
    """A ResponseSink that records every frame; ``pause`` makes each call yield to the loop."""

    def __init__(self, *, pause: bool = False) -> None:
        self.frames: list[tuple[str, Any]] = []
        self.pause = pause

    async def _yield(self) -> None:
        if self.pause:
            await asyncio.sleep(0)

    async def write(self, data: bytes) -> None:
        await self._yield()
        self.frames.append(("binary", data))

    async def send_message_async(self, message: str) -> None:
        await self._yield()
        self.frames.append(("text", message))

    async def close_async(self) -> None:
        await self._yield()
        self.frames.append(("close", None))


def body_of(*chunks: bytes) -> RequestBody:
    async def gen() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    return RequestBody(gen())
