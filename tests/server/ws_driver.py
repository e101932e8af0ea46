"""A :class:`tests.subscriptions.ws_scenarios.WsDriver` over a real :class:`StreamServer` and a
real WebSocket client (the ``websockets`` sync client).

``settle()`` waits for the store's events to reach the server (``sync_events``), then pings: the
server answers a ping only after it has handled every earlier frame (hooks and sync read
included) and written every earlier message, so the messages received before the pong are all
there is.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import msgspec
from websockets.sync.client import ClientConnection, connect

from iii_core._generated.stream import StreamAuthInput, StreamJoinLeaveEvent
from tests.server.support import ServerThread, StoreFactory, wait_until
from tests.subscriptions.ws_scenarios import AUTH_FAILS

__all__ = ["ServerDriver"]


class ServerDriver:
    def __init__(self, make_store: StoreFactory) -> None:
        self._make_store = make_store
        self._join_results: list[Any] = []
        self._auth_result: Any = None
        self.joins: list[Any] = []
        self.leaves: list[Any] = []
        self.server: ServerThread | None = None
        self.client: ClientConnection | None = None
        self._open = contextlib.ExitStack()

    # -- hooks, run on the server's loop --------------------------------------------------------

    async def _auth(self, _request: StreamAuthInput) -> Any:
        if self._auth_result == AUTH_FAILS:
            raise RuntimeError("the auth hook fails")
        return self._auth_result

    def _record_join(self, event: StreamJoinLeaveEvent) -> None:
        self.joins.append(msgspec.to_builtins(event))

    async def _record_leave(self, event: StreamJoinLeaveEvent) -> None:
        self.leaves.append(msgspec.to_builtins(event))

    def _running(self) -> ServerThread:
        if self.server is None:
            hooks = [self._record_join, *(self._returning(r) for r in self._join_results)]
            self.server = ServerThread(
                self._make_store,
                auth=self._auth,
                join_hooks=hooks,
                leave_hooks=[self._record_leave],
            )
        return self.server

    @staticmethod
    def _returning(result: Any) -> Any:
        return lambda _event: result

    def _client(self) -> ClientConnection:
        assert self.client is not None, "not connected"
        return self.client

    # -- WsDriver -------------------------------------------------------------------------------

    def add_join_hook(self, returns: Any) -> None:
        assert self.server is None, "hooks are given to the server when it starts"
        self._join_results.append(returns)

    def connect(self, auth_result: Any) -> None:
        self._auth_result = auth_result
        self.client = self._open.enter_context(connect(self._running().url, open_timeout=10))

    def send(self, frame: Any) -> None:
        self._client().send(json.dumps(frame))

    def call(self, function_id: str, payload: Any) -> Any:
        return self._running().call(function_id, payload)

    def settle(self) -> list[Any]:
        self._running().sync_events()
        client = self._client()
        assert client.ping().wait(timeout=20), "no pong"
        received = []
        while True:
            try:
                received.append(json.loads(client.recv(timeout=0)))
            except TimeoutError:
                return received

    def subscription_count(self) -> int:
        return self._running().server_stats().subscriptions

    def join_payloads(self) -> list[Any]:
        return self.joins

    def leave_payloads(self) -> list[Any]:
        return self.leaves

    def close(self) -> None:
        self._client().close()
        server = self._running()
        wait_until(lambda: server.server_stats().connections == 0, "the server to close")

    def context(self) -> Any:
        probe = {"subscriptionId": "context-probe", "streamName": "probe", "groupId": "probe"}
        self.send({"type": "join", "data": probe})
        self.settle()
        return self.joins[-1]["context"]

    def stop(self) -> None:
        self._open.close()
        if self.server is not None:
            self.server.stop()
