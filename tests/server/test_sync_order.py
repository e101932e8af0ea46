"""A join's ``sync`` is never older than an event already delivered to that subscription, on
every store: the events that reach a joining subscription wait for its sync. And the answer to
a store that may have lost events: every live subscription gets a fresh sync."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from websockets.sync.client import connect

from iii_core.backends import MemoryStore
from iii_core.backends.redis import RedisStore
from tests.redis_server import RedisServer
from tests.server.raw import join_frame
from tests.server.support import ServerThread, join, wait_until

ITEM = {"stream_name": "s", "group_id": "g", "item_id": "i"}


def test_joins_during_a_stream_of_writes_get_their_sync_first(
    store_kind: str,
    redis_server: RedisServer,
    start_server: Callable[..., ServerThread],
) -> None:
    server = start_server()
    if store_kind == "redis":
        writer_store: Any = RedisStore.from_url(redis_server.url)  # another client of Redis
    else:
        assert isinstance(server.store, MemoryStore)
        writer_store = server.store  # written from another thread of this process
    stop = threading.Event()
    written: list[int] = []

    def write() -> None:
        n = 0
        deadline = time.monotonic() + 120
        while not stop.is_set() and time.monotonic() < deadline:
            n += 1
            writer_store.call("stream::set", {**ITEM, "data": n})
            written.append(n)
            time.sleep(0.0005)  # a thread of this process: leave the server's loop the GIL

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        wait_until(lambda: len(written) > 10, "the writer to start")
        for attempt in range(20):
            with connect(server.url, open_timeout=10) as client:
                client.send(join_frame(f"join-{attempt}", "s", "g", "i"))
                messages = [json.loads(client.recv(timeout=20)) for _ in range(5)]
            kinds = [m["event"]["type"] for m in messages]
            assert kinds[0] == "sync" and "sync" not in kinds[1:], kinds
            synced = messages[0]["event"]["data"]
            # Every event after the sync is a later write, or one the sync already holds,
            # never one older than an event delivered before it (there is none).
            assert all(isinstance(m["event"]["data"], int) for m in messages[1:])
            assert synced is None or isinstance(synced, int)
    finally:
        stop.set()
        writer.join(timeout=30)
        if store_kind == "redis":
            writer_store.close()
    assert written, "the writer wrote nothing"


def test_resync_sends_every_live_subscription_a_fresh_sync(
    start_server: Callable[..., ServerThread],
) -> None:
    server = start_server()
    with (
        connect(server.url, open_timeout=10) as group_client,
        connect(server.url, open_timeout=10) as item_client,
    ):
        assert join(group_client, "group")["event"] == {"type": "sync", "data": []}
        assert join(item_client, "item", item="i")["event"] == {"type": "sync", "data": None}
        server.call("stream::set", {**ITEM, "data": 1})
        for client in (group_client, item_client):
            assert json.loads(client.recv(timeout=20))["event"] == {"type": "create", "data": 1}
        # Queued on the loop before the next write's request arrives: its event is held back
        # until each sync is sent, whether the sync's read saw the write or not.
        server.loop.call_soon_threadsafe(server.server.resync)
        server.call("stream::set", {**ITEM, "data": 2})
        for client, before, after in ((group_client, [1], [2]), (item_client, 1, 2)):
            sync = json.loads(client.recv(timeout=20))["event"]
            assert sync["type"] == "sync" and sync["data"] in (before, after)
            assert json.loads(client.recv(timeout=20))["event"] == {"type": "update", "data": 2}
