"""``iii-core serve`` fleets on one Redis and on a Redis Cluster, as processes: they deliver each
other's writes, each decodes only the groups its clients joined (by its /stats counters), and
they interoperate live with an iii engine through ``stream::events``, each change once."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster as ClusterClient
from websockets.sync.client import ClientConnection, connect

from iii_core.backends.redis import RedisStore
from iii_core.stream import StreamTriggerConfig
from tests.loopback import free_port
from tests.redis_cluster import RedisCluster
from tests.redis_server import RedisServer
from tests.server.support import ServeProcess, join, wait_until

ITEM = {"stream_name": "s", "group_id": "g", "item_id": "i"}


@contextlib.contextmanager
def joined(url: str, sub: str, group: str) -> Iterator[ClientConnection]:
    with connect(url, open_timeout=10) as client:
        assert join(client, sub, group=group)["event"]["type"] == "sync"
        yield client


def changes(client: ClientConnection, count: int) -> list[Any]:
    return [json.loads(client.recv(timeout=20))["event"] for _ in range(count)]


def nothing_more(client: ClientConnection) -> bool:
    try:
        client.recv(timeout=0.3)
    except TimeoutError:
        return True
    return False


@pytest.fixture(params=["redis", "cluster"])
def fleet(
    request: pytest.FixtureRequest, redis_server: RedisServer, redis_cluster: RedisCluster
) -> tuple[str, str, Any]:
    """(serve option, URL, a raw redis-py client) for one Redis or the cluster, flushed."""
    if request.param == "cluster":
        redis_cluster.flush()
        raw: Any = ClusterClient.from_url(redis_cluster.url)
        request.addfinalizer(raw.close)
        return "--redis-cluster", redis_cluster.url, raw
    redis_server.flush()
    raw = redis.Redis.from_url(redis_server.url)
    request.addfinalizer(raw.close)
    return "--redis", redis_server.url, raw


def test_two_processes_deliver_each_others_writes(fleet: tuple[str, str, Any]) -> None:
    option, url, _ = fleet
    one, two = ServeProcess(option, url), ServeProcess(option, url)
    try:
        with joined(one.url, "a", "g") as on_one, joined(two.url, "b", "g") as on_two:
            for n in range(1, 21):
                (one if n % 2 else two).call(
                    "stream::set", {"stream_name": "s", "group_id": "g", "item_id": "i", "data": n}
                )
            for client in (on_one, on_two):
                assert [change["data"] for change in changes(client, 20)] == list(range(1, 21))
                assert nothing_more(client)
    finally:
        assert one.stop() == 0
        assert two.stop() == 0


def test_a_process_decodes_only_the_groups_it_serves(fleet: tuple[str, str, Any]) -> None:
    option, url, _ = fleet
    one, two = ServeProcess(option, url), ServeProcess(option, url)
    try:
        with joined(one.url, "a", "mine") as on_one, joined(two.url, "b", "theirs") as on_two:
            # Every write goes through `one`, its own group's last, so that by the time its
            # client has them all, every other message has reached `one` too.
            for n in range(5):
                one.call(
                    "stream::set",
                    {"stream_name": "s", "group_id": "theirs", "item_id": f"t{n}", "data": n},
                )
            for n in range(10):
                one.call(
                    "stream::set",
                    {"stream_name": "s", "group_id": "mine", "item_id": f"m{n}", "data": n},
                )
            assert len(changes(on_one, 10)) == 10
            assert len(changes(on_two, 5)) == 5
            # `one` heard its 10 group messages and the 15 copies on the engine channel, and
            # decoded only its group's; `two` likewise with its 5.
            wait_until(lambda: one.stats()["events_received"] == 25, "one's 25 messages")
            wait_until(lambda: two.stats()["events_received"] == 20, "two's 20 messages")
            assert one.stats()["events_decoded"] == 10
            assert two.stats()["events_decoded"] == 5
            assert one.stats()["groups_followed"] == two.stats()["groups_followed"] == 1
    finally:
        assert one.stop() == 0
        assert two.stop() == 0


def engine_text(group: str, item: str, data: str, timestamp: int = 1_780_000_000_000) -> bytes:
    """A StreamWrapperMessage as the engine's serde_json writes it."""
    return (
        f'{{"type":"stream","timestamp":{timestamp},"streamName":"s","groupId":"{group}",'
        f'"id":"{item}","event":{{"type":"update","data":{data}}}}}'
    ).encode()


def test_engine_writes_reach_sockets_and_handlers_once(fleet: tuple[str, str, Any]) -> None:
    option, url, raw = fleet
    server = ServeProcess(option, url)
    store = (
        RedisStore.from_cluster_url(url)
        if option == "--redis-cluster"
        else RedisStore.from_url(url)
    )
    handled: list[Any] = []
    try:
        store.subscribe(StreamTriggerConfig(stream_name="s", group_id="g"), handled.append)
        with joined(server.url, "a", "g") as client:
            raw.publish(
                "stream::events", engine_text("g", "e1", '{"n":1.2345678901234e+14,"tags":{}}')
            )
            server.call(
                "stream::set", {"stream_name": "s", "group_id": "g", "item_id": "c1", "data": 2}
            )
            raw.publish("stream::events", engine_text("g", "e2", "3"))
            raw.publish("stream::events", engine_text("other", "e3", "4"))
            got = [(change["type"], change["data"]) for change in changes(client, 3)]
            expected = [
                ("update", {"n": 123456789012340.0, "tags": {}}),
                ("create", 2),
                ("update", 3),
            ]
            if option == "--redis-cluster":
                # Classic messages cross the cluster bus, shard messages do not: no order
                # between the engine's channel and a group's channel there.
                got.sort(key=repr)
                expected.sort(key=repr)
            assert got == expected
            assert nothing_more(client)
        store.sync_events()
        wait_until(lambda: len(handled) >= 3, "the handler's three changes")
        time.sleep(0.3)
        assert sorted((e.id, repr(e.event.data)) for e in handled) == [
            ("c1", "2"),
            ("e1", repr({"n": 123456789012340.0, "tags": {}})),
            ("e2", "3"),
        ]
    finally:
        store.close()
        assert server.stop() == 0


def test_iii_core_writes_appear_in_the_engines_format(fleet: tuple[str, str, Any]) -> None:
    option, url, raw = fleet
    server = ServeProcess(option, url)
    pubsub = raw.pubsub()
    received: list[bytes] = []
    listening = threading.Event()
    done = threading.Event()

    def listen() -> None:
        pubsub.subscribe("stream::events")
        while not done.is_set():
            message = pubsub.get_message(timeout=0.05)
            if message is None:
                continue
            if message["type"] == "subscribe":
                listening.set()
            elif message["type"] == "message":
                received.append(message["data"])

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    try:
        assert listening.wait(20)
        server.call(
            "stream::set",
            {"stream_name": "s", "group_id": "g", "item_id": "i", "data": {"b": [], "a": 1}},
        )
        server.call(
            "stream::send", {"stream_name": "s", "group_id": "g", "type": "ping", "data": 5}
        )
        server.call("state::set", {"scope": "sc", "key": "k", "value": 1})
        wait_until(lambda: len(received) >= 2, "two messages on stream::events")
        time.sleep(0.3)
        assert len(received) == 2  # stream changes only, each once
        first, second = received
        assert first.startswith(b"{\t") and second.startswith(b"{\t")
        stamp = json.loads(first)["timestamp"]
        assert (
            b"{" + first[2:]
            == (
                f'{{"type":"stream","timestamp":{stamp},"streamName":"s","groupId":"g","id":"i",'
                '"event":{"type":"create","data":{"a":1,"b":[]}}}'
            ).encode()
        )
        stamp = json.loads(second)["timestamp"]
        assert (
            b"{" + second[2:]
            == (
                f'{{"type":"stream","timestamp":{stamp},"streamName":"s","groupId":"g","id":null,'
                '"event":{"type":"event","event":{"type":"ping","data":5}}}'
            ).encode()
        )
    finally:
        done.set()
        thread.join(timeout=10)
        pubsub.close()
        assert server.stop() == 0


def test_the_engine_channel_can_be_turned_off(fleet: tuple[str, str, Any]) -> None:
    option, url, raw = fleet
    server = ServeProcess(option, url, "--no-engine-channel")
    try:
        with joined(server.url, "a", "g") as client:
            raw.publish("stream::events", engine_text("g", "e1", "1"))
            before = raw.execute_command("PUBSUB", "NUMSUB", "stream::events")
            server.call(
                "stream::set", {"stream_name": "s", "group_id": "g", "item_id": "c1", "data": 2}
            )
            assert [change["data"] for change in changes(client, 1)] == [2]
            assert nothing_more(client)
            assert server.stats()["events_received"] == 1
            assert before[1] == 0  # nothing of iii-core listens there
    finally:
        assert server.stop() == 0


def test_a_group_is_followed_while_a_client_watches_it(fleet: tuple[str, str, Any]) -> None:
    option, url, _ = fleet
    server = ServeProcess(option, url)
    try:
        with joined(server.url, "a", "g"), joined(server.url, "b", "g"):
            assert server.stats()["groups_followed"] == 1
        wait_until(lambda: server.stats()["groups_followed"] == 0, "the group dropped")
        server.call("stream::set", {"stream_name": "s", "group_id": "g", "item_id": "i", "data": 1})
        time.sleep(0.3)
        assert server.stats()["events_decoded"] == 0
    finally:
        assert server.stop() == 0


def test_iii_core_call_on_a_cluster(redis_cluster: RedisCluster) -> None:
    redis_cluster.flush()
    lines = [
        {"function_id": "stream::set", "payload": {**ITEM, "data": {"n": n}}} for n in range(3)
    ] + [{"function_id": "stream::list_groups", "payload": {"stream_name": "s"}}]
    done = subprocess.run(
        [sys.executable, "-m", "iii_core.cli", "call", "--redis-cluster", redis_cluster.url],
        input="\n".join(json.dumps(line) for line in lines) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert answers[-1] == {"result": ["g"]}
    assert answers[2] == {"result": {"old_value": {"n": 1}, "new_value": {"n": 2}}}


def test_an_unreachable_cluster_is_reported() -> None:
    url = f"redis://127.0.0.1:{free_port()}"
    for command in (["serve", "--port", "0"], ["call"]):
        done = subprocess.run(
            [sys.executable, "-m", "iii_core.cli", *command, "--redis-cluster", url],
            input="",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 1, command
        assert "Redis is unavailable" in done.stderr, done.stderr
