"""Durability of the memory store, concurrency on both backends, Redis restarts and
cross-process delivery, with real processes and a real redis-server."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from iii_core.backends import ChangeEvent, MemoryStore
from iii_core.backends.redis import RedisStore
from iii_core.backends.redis_async import AsyncRedisStore
from iii_core.state import StateChangeEvent
from iii_core.store import StoreCallError
from tests.redis_server import RedisServer

INCREMENT = {
    "stream_name": "s",
    "group_id": "g",
    "item_id": "counter",
    "ops": [{"type": "increment", "path": "n", "by": 1}],
}


def python(script: str, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        **kwargs,
    )


class TestMemoryDurability:
    def test_kill_mid_write_loses_no_acknowledged_write(self, tmp_path: Path) -> None:
        log = tmp_path / "store.log"
        child = python(
            """
            import sys
            from iii_core.backends import MemoryStore
            store = MemoryStore(sys.argv[1])
            i = 0
            while True:
                store.call("state::set", {"scope": "s", "key": f"k{i}", "value": {"i": i, "pad": "x" * 512}})
                store.call("stream::update", {"stream_name": "s", "group_id": "g", "item_id": "c",
                                              "ops": [{"type": "increment", "path": "n", "by": 1}]})
                print(i, flush=True)
                i += 1
            """,
            str(log),
        )
        assert child.stdout is not None
        acknowledged = -1
        while acknowledged < 300:
            acknowledged = int(child.stdout.readline())
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        with MemoryStore(log) as reopened:
            for i in range(acknowledged + 1):
                assert reopened.call("state::get", {"scope": "s", "key": f"k{i}"})["i"] == i
            counter = reopened.call(
                "stream::get", {"stream_name": "s", "group_id": "g", "item_id": "c"}
            )
            assert counter["n"] >= acknowledged + 1

    def test_torn_last_line_is_ignored_and_log_is_compacted(self, tmp_path: Path) -> None:
        log = tmp_path / "store.log"
        with MemoryStore(log) as store:
            for i in range(5):
                store.call("state::set", {"scope": "s", "key": "k", "value": i})
            store.call("state::set", {"scope": "s", "key": "gone", "value": 1})
            store.call("state::delete", {"scope": "s", "key": "gone"})
        assert len(log.read_bytes().splitlines()) == 7
        with log.open("ab") as f:
            f.write(b'["state:s","k",99')
        with MemoryStore(log) as store:
            assert store.call("state::get", {"scope": "s", "key": "k"}) == 4
            assert store.call("state::get", {"scope": "s", "key": "gone"}) is None
            store.call("state::set", {"scope": "s", "key": "k2", "value": 5})
        assert log.read_bytes().splitlines() == [b'["state:s","k",4]', b'["state:s","k2",5]']

    def test_emptied_group_is_listed_until_reopen(self, tmp_path: Path) -> None:
        log = tmp_path / "store.log"
        item = {"stream_name": "s", "group_id": "g", "item_id": "i"}
        with MemoryStore(log) as store:
            store.call("stream::set", {**item, "data": 1})
            store.call("stream::delete", item)
            assert store.call("stream::list_groups", {"stream_name": "s"}) == ["g"]
        with MemoryStore(log) as store:
            assert store.call("stream::list_groups", {"stream_name": "s"}) == []

    def test_corrupt_log_is_refused(self, tmp_path: Path) -> None:
        log = tmp_path / "store.log"
        log.write_bytes(b'["state:s","k",1]\nnot json\n["state:s","k",2]\n')
        with pytest.raises(ValueError, match="line 2"):
            MemoryStore(log)
        assert log.read_bytes().startswith(b'["state:s","k",1]\nnot json')


def test_memory_store_threads_increment_exactly() -> None:
    store = MemoryStore()

    def worker() -> None:
        for _ in range(500):
            store.call("stream::update", INCREMENT)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.call("stream::get", {**INCREMENT, "ops": None}) == {"n": 4000}


def test_redis_8_processes_x_500_increments_end_at_4000(redis_server: RedisServer) -> None:
    redis_server.flush()
    workers = [
        python(
            """
            import sys
            from iii_core.backends.redis import RedisStore
            store = RedisStore.from_url(sys.argv[1])
            op = {"stream_name": "s", "group_id": "g", "item_id": "counter",
                  "ops": [{"type": "increment", "path": "n", "by": 1}]}
            for _ in range(500):
                store.call("stream::update", op)
            print("done", flush=True)
            """,
            redis_server.url,
        )
        for _ in range(8)
    ]
    for worker in workers:
        out, _ = worker.communicate(timeout=300)
        assert out.strip() == "done"
    with RedisStore.from_url(redis_server.url) as store:
        assert store.call(
            "stream::get", {"stream_name": "s", "group_id": "g", "item_id": "counter"}
        ) == {"n": 4000}


def test_redis_restart_gives_a_clear_error_then_recovers(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    try:
        with RedisStore.from_url(server.url) as store:
            store.call("state::set", {"scope": "s", "key": "k", "value": {"big": 2**64 - 1}})
            server.stop()
            with pytest.raises(StoreCallError) as raised:
                store.call(
                    "state::update",
                    {"scope": "s", "key": "k", "ops": [{"type": "set", "path": "x", "value": 1}]},
                )
            assert raised.value.code == "STORE_UNAVAILABLE"
            with pytest.raises(StoreCallError):
                store.call("state::get", {"scope": "s", "key": "k"})
            server.start()
            assert store.call("state::get", {"scope": "s", "key": "k"}) == {"big": 2**64 - 1}
            store.call(
                "state::update",
                {"scope": "s", "key": "k", "ops": [{"type": "set", "path": "x", "value": 1}]},
            )
            assert store.call("state::get", {"scope": "s", "key": "k"}) == {
                "big": 2**64 - 1,
                "x": 1,
            }
    finally:
        server.stop()


def test_redis_subscribers_in_two_processes_see_every_event(redis_server: RedisServer) -> None:
    redis_server.flush()
    subscribers = [
        python(
            """
            import sys, msgspec
            from iii_core.backends.redis import RedisStore
            from iii_core.stream import StreamTriggerConfig
            store = RedisStore.from_url(sys.argv[1])
            seen = []
            store.subscribe(StreamTriggerConfig(stream_name="chat"), seen.append)
            print("ready", flush=True)
            sys.stdin.readline()
            store.sync_events()
            print(msgspec.json.encode(seen).decode(), flush=True)
            """,
            redis_server.url,
        )
        for _ in range(2)
    ]
    for sub in subscribers:
        assert sub.stdout is not None
        assert sub.stdout.readline().strip() == "ready"
    with RedisStore.from_url(redis_server.url) as writer:
        item = {"stream_name": "chat", "group_id": "room", "item_id": "m"}
        writer.call("stream::set", {**item, "data": {"n": 0}})
        for _ in range(20):
            writer.call(
                "stream::update", {**item, "ops": [{"type": "increment", "path": "n", "by": 1}]}
            )
        writer.call(
            "stream::send", {"stream_name": "chat", "group_id": "room", "type": "typing", "data": 1}
        )
        writer.call("stream::delete", item)
        writer.call(
            "stream::set", {"stream_name": "other", "group_id": "room", "item_id": "m", "data": 1}
        )
    for sub in subscribers:
        out, _ = sub.communicate("go\n", timeout=60)
        events = json.loads(out)
        assert [e["event"]["type"] for e in events] == ["create"] + ["update"] * 20 + [
            "event",
            "delete",
        ]
        assert [e["event"].get("data", {}).get("n") for e in events[:21]] == list(range(21))


def test_async_clients_increment_exactly_and_see_sync_writes(redis_server: RedisServer) -> None:
    redis_server.flush()

    async def scenario() -> tuple[Any, list[ChangeEvent]]:
        stores = [AsyncRedisStore.from_url(redis_server.url) for _ in range(4)]
        seen: list[ChangeEvent] = []
        await stores[0].watch(seen.append)
        await asyncio.gather(
            *(store.call("stream::update", INCREMENT) for store in stores for _ in range(100))
        )
        with RedisStore.from_url(redis_server.url) as sync_writer:
            sync_writer.call("state::set", {"scope": "s", "key": "k", "value": 1})
        await stores[0].sync_events()
        value = await stores[1].call("stream::get", {**INCREMENT, "ops": None})
        for store in stores:
            await store.close()
        return value, seen

    value, seen = asyncio.run(scenario())
    assert value == {"n": 400}
    assert len(seen) == 401
    assert isinstance(seen[-1], StateChangeEvent)
