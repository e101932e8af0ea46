"""Servers for the tests: a :class:`StreamServer` on its own event loop in a background thread (so
that synchronous clients can talk to it), and ``iii-core serve`` as a child process.

Both listen on a free loopback port picked by the kernel (port 0) and stop within bounded time.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import httpx
from websockets.sync.client import ClientConnection

from iii_core.backends import MemoryStore, Store
from iii_core.backends.redis_async import AsyncRedisStore
from iii_core.server import ServerStats, StreamServer
from tests.redis_server import RedisServer
from tests.server.raw import join_frame

__all__ = [
    "ServeProcess",
    "ServerThread",
    "StoreCallFailed",
    "StoreFactory",
    "join",
    "store_factory",
    "wait_until",
]

T = TypeVar("T")
StoreFactory = Callable[[], Store | AsyncRedisStore]


def store_factory(kind: str, redis_server: RedisServer) -> StoreFactory:
    """A fresh store of ``kind`` (``memory``, or ``redis`` on the flushed ``redis_server``)."""
    if kind == "memory":
        return MemoryStore
    redis_server.flush()
    return lambda: AsyncRedisStore.from_url(redis_server.url)


def join(
    client: ClientConnection,
    subscription_id: str,
    *,
    stream: str = "s",
    group: str = "g",
    item: str | None = None,
) -> Any:
    """Join with the websockets client ``client``; the first message that comes back (the sync,
    or ``unauthorized``)."""
    client.send(join_frame(subscription_id, stream, group, item))
    return json.loads(client.recv(timeout=20))


class StoreCallFailed(Exception):
    def __init__(self, status: int, error: Any) -> None:
        super().__init__(f"{status}: {error}")
        self.status = status
        self.error = error


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds (a bound, not a timing
    assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class _Caller:
    """``POST /call/{function_id}`` over one kept-alive HTTP connection."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def call(self, function_id: str, payload: Any) -> Any:
        answer = self.http.post(
            f"/call/{function_id}",
            content=json.dumps(payload).encode(),
            headers={"content-type": "application/json"},
        )
        body = answer.json()
        if answer.status_code != 200:
            raise StoreCallFailed(answer.status_code, body["error"])
        return body["result"]

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.http.get("/stats").json()
        return stats


class ServerThread(_Caller):
    """A started :class:`StreamServer` over the store ``make_store()`` builds (on the server's
    loop), with ``options`` for the server."""

    def __init__(self, make_store: StoreFactory, **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.store = self.run(self._build(make_store))
        self.server = StreamServer(self.store, port=0, **options)
        self.run(self.server.start())
        self.url = f"ws://127.0.0.1:{self.server.port}/"
        super().__init__(f"http://127.0.0.1:{self.server.port}")

    @staticmethod
    async def _build(make_store: StoreFactory) -> Store | AsyncRedisStore:
        return make_store()

    def run(self, coroutine: Coroutine[Any, Any, T] | Awaitable[T], timeout: float = 30) -> T:
        async def wrapped() -> T:
            return await coroutine

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(timeout)

    def server_stats(self) -> ServerStats:
        async def read() -> ServerStats:
            return self.server.stats()

        return self.run(read())

    def sync_events(self) -> None:
        self.run(self.server.sync_events())

    def stop(self) -> None:
        self.http.close()
        self.run(self.server.stop())
        store = self.store
        if isinstance(store, AsyncRedisStore):
            self.run(store.close())
        elif not isinstance(store, MemoryStore):
            store.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


_LISTENING = re.compile(rb"listening on 127\.0\.0\.1:(\d+)")


class ServeProcess(_Caller):
    """``iii-core serve --port 0 ARGS...`` as a child process (``env`` added to this process's
    environment, ``preexec_fn`` run in the child before it starts), stopped with SIGTERM."""

    def __init__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        # A file, not a pipe: a server that logs a lot must never block on a full pipe.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        self._final_stderr = b""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "iii_core.cli", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            preexec_fn=preexec_fn,  # noqa: PLW1509 - it only sets an rlimit
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # the process prints it once listening, or exits
        found = _LISTENING.search(line)
        if found is None:
            self.process.kill()
            self.process.wait(timeout=10)
            raise RuntimeError(f"iii-core serve did not start: {line!r} {self.stderr()!r}")
        self.port = port = int(found.group(1))
        self.url = f"ws://127.0.0.1:{port}/"
        super().__init__(f"http://127.0.0.1:{port}")

    def stderr(self) -> bytes:
        """What the process wrote on standard error (all of it, once stopped)."""
        if self._stderr.closed:
            return self._final_stderr
        self._stderr.seek(0)
        return self._stderr.read()

    def stop(self) -> int:
        """SIGTERM, then the exit status (the process is killed if it does not exit)."""
        self.http.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.process.communicate(timeout=10)
            self._final_stderr = self.stderr()
            self._stderr.close()
