"""Faults: a client that vanishes without closing, a client that never reads, malformed frames,
a join for an unknown stream, a Redis restart mid-stream. In each, nobody else's delivery stops,
nothing acknowledged is lost from the store, and the server keeps running."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from iii_core._generated.stream import StreamJoinLeaveEvent
from iii_core.backends.redis_async import AsyncRedisStore
from iii_core.server import Limits
from tests.redis_server import RedisServer
from tests.server.raw import RawClient, join_frame
from tests.server.support import ServerThread, StoreCallFailed, join, wait_until

GROUP = {"stream_name": "s", "group_id": "g"}


def write(server: ServerThread, item: str, data: Any) -> None:
    server.call("stream::set", {**GROUP, "item_id": item, "data": data})


class Collector:
    """Reads every message of a client on a thread of its own, as fast as they come."""

    def __init__(self, client: ClientConnection) -> None:
        self.messages: list[Any] = []
        self.closed = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(client,), daemon=True)
        self._thread.start()

    def _run(self, client: ClientConnection) -> None:
        try:
            for message in client:
                self.messages.append(json.loads(message))
        except ConnectionClosed:
            pass
        self.closed.set()

    def data(self) -> list[Any]:
        return [m["event"].get("data") for m in self.messages if m["event"]["type"] != "sync"]


def test_a_client_that_vanishes_without_closing(start_server: Callable[..., ServerThread]) -> None:
    leaves: list[str] = []
    server = start_server(leave_hooks=[lambda event: leaves.append(event.subscription_id)])
    with connect(server.url, open_timeout=10) as healthy:
        join(healthy, "healthy")
        for abrupt in ("rst", "fin"):
            raw = RawClient(server.server.port)
            raw.join(f"{abrupt}-1", "s", "g")
            raw.join(f"{abrupt}-2", "s", "g", item="i")
            wait_until(lambda: server.server_stats().subscriptions == 3, "the joins")
            if abrupt == "rst":
                raw.vanish()
            else:
                raw.close()
            wait_until(lambda: server.server_stats().connections == 1, "the server to notice")
        assert sorted(leaves) == ["fin-1", "fin-2", "rst-1", "rst-2"]
        write(server, "i", 1)
        assert json.loads(healthy.recv(timeout=20))["event"] == {"type": "create", "data": 1}
    assert server.call("stream::get", {**GROUP, "item_id": "i"}) == 1


def test_a_client_that_never_reads_is_dropped_and_nobody_else_waits(
    start_server: Callable[..., ServerThread],
) -> None:
    server = start_server(limits=Limits(max_buffered_bytes=256 * 1024))
    stalled = RawClient(server.server.port, receive_buffer=4096)
    stalled.join("stalled", "s", "g")
    with connect(server.url, open_timeout=10, max_queue=None) as healthy:
        join(healthy, "healthy")
        collector = Collector(healthy)
        wait_until(lambda: server.server_stats().subscriptions == 2, "both joins")
        blob = "x" * 32 * 1024
        written = 0
        while server.server_stats().slow_disconnects == 0:
            assert written < 3000, "the stalled client was never dropped"
            written += 1
            write(server, "big", {"n": written, "blob": blob})
        for _ in range(5):  # and after the drop, delivery goes on
            written += 1
            write(server, "big", {"n": written, "blob": blob})
        wait_until(
            lambda: len(collector.data()) == written, "every write to reach the healthy client"
        )
        assert [d["n"] for d in collector.data()] == list(range(1, written + 1))
        stats = server.server_stats()
        assert stats.slow_disconnects == 1 and stats.connections == 1
        assert stats.messages_dropped >= 1 and stats.bytes_dropped > 0
        assert server.stats()["slow_disconnects"] == 1  # exposed over HTTP too
    stalled.close()
    assert server.call("stream::get", {**GROUP, "item_id": "big"})["n"] == written


def test_malformed_frames_are_ignored(start_server: Callable[..., ServerThread]) -> None:
    server = start_server(limits=Limits(max_message_bytes=64 * 1024))
    with (
        connect(server.url, open_timeout=10) as other,
        connect(server.url, open_timeout=10) as client,
    ):
        join(other, "other")
        for frame in [
            "",
            "   ",
            "not json",
            "[]",
            '{"type": "join"}',
            '{"type": "join", "data": {"subscriptionId": 1}}',
        ]:
            client.send(frame)
        client.send(b"\xff\xfe\x00", text=True)  # not UTF-8
        client.send(b"\x00\x01")
        client.send("[" * 20_000 + "]" * 20_000)
        assert client.ping().wait(20)
        assert server.server_stats().frames_ignored == 9
        assert join(client, "after")["event"] == {"type": "sync", "data": []}
        client.send("x" * 70 * 1024)  # over max_message_bytes: that connection is closed (1009)
        with pytest.raises(ConnectionClosed) as closed:
            client.recv(timeout=20)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        write(server, "i", "still here")
        assert json.loads(other.recv(timeout=20))["event"] == {
            "type": "create",
            "data": "still here",
        }


def test_a_join_for_an_unknown_stream(start_server: Callable[..., ServerThread]) -> None:
    server = start_server()
    with connect(server.url, open_timeout=10) as client:
        assert join(client, "a", stream="never-written")["event"] == {"type": "sync", "data": []}
        assert join(client, "b", stream="never-written", item="x")["event"] == {
            "type": "sync",
            "data": None,
        }
        server.call(
            "stream::set",
            {"stream_name": "never-written", "group_id": "g", "item_id": "x", "data": 1},
        )
        assert json.loads(client.recv(timeout=20))["event"]["type"] == "create"
        assert json.loads(client.recv(timeout=20))["event"]["type"] == "create"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, since the test restarts it."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_a_redis_restart_mid_stream(own_redis: RedisServer) -> None:
    joins: list[str] = []

    def record(event: StreamJoinLeaveEvent) -> None:
        joins.append(event.subscription_id)

    server = ServerThread(lambda: AsyncRedisStore.from_url(own_redis.url), join_hooks=[record])
    try:
        with (
            connect(server.url, open_timeout=10) as client,
            connect(server.url, open_timeout=10) as late,
        ):
            join(client, "before")
            collector = Collector(client)
            acknowledged: dict[str, int] = {}

            def write_until_acknowledged(item: str, n: Any) -> None:
                def attempt() -> bool:
                    try:
                        write(server, item, n)
                    except StoreCallFailed as failed:
                        assert failed.status == 503 and failed.error["code"] == "STORE_UNAVAILABLE"
                        return False
                    acknowledged[item] = n
                    return True

                wait_until(attempt, "a write to be acknowledged")

            for n in range(1, 11):
                write_until_acknowledged(f"i{n}", n)
            wait_until(lambda: len(collector.data()) == 10, "the first writes")

            own_redis.stop()
            with pytest.raises(StoreCallFailed) as failed:
                write(server, "down", 0)
            assert failed.value.status == 503
            late.send(join_frame("during", "s", "g"))
            # Frames are handled in order: once the blank one after it is, the join is done. No
            # sync (the read failed), and the subscription stays.
            late.send("")
            wait_until(lambda: server.server_stats().frames_ignored == 1, "the join")
            assert "during" in joins
            assert server.server_stats().subscriptions == 2
            with pytest.raises(TimeoutError):
                late.recv(timeout=0)

            own_redis.start()
            # Redis pub/sub keeps no history: wait until the server's subscription is back.
            probe = 0

            def delivered_again() -> bool:
                nonlocal probe
                probe += 1
                write_until_acknowledged("probe", {"probe": probe})
                return {"probe": probe} in collector.data()

            wait_until(delivered_again, "delivery to resume")
            seen = len(collector.data())
            for n in range(11, 21):
                write_until_acknowledged(f"i{n}", n)
            wait_until(lambda: len(collector.data()) == seen + 10, "the writes after the restart")
            assert collector.data()[seen:] == list(range(11, 21))
            late_data: list[Any] = []
            while late_data[-1:] != [20]:
                late_data.append(json.loads(late.recv(timeout=20))["event"]["data"])
            assert [d for d in late_data if type(d) is int] == list(range(11, 21))
            assert server.server_stats().connections == 2  # nobody was disconnected
        listed = server.call("stream::list", GROUP)
        assert sorted(map(json.dumps, listed)) == sorted(map(json.dumps, acknowledged.values()))
    finally:
        server.stop()
