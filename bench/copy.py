"""``iii-core copy`` throughput: 100,000 items between every pair of store kinds, and beside
the way to do it without the command (one ``stream::set`` / ``state::set`` call per item on the
target, in the same run).

Usage: ``python -m bench.copy [--quick] [--record]`` from the repository root; ``--record``
replaces the copy section of ``bench/RESULTS.md`` (between its markers) and leaves the rest of
the file as it is. Redis is a real redis-server on loopback started here, persistence off, and
the clusters are two real 3-primary Redis Clusters on loopback (tests/redis_cluster.py, no
replicas, persistence off).
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis
from tests.redis_cluster import RedisCluster
from tests.redis_server import RedisServer

from iii_core._copy import copy_stores, open_endpoint
from iii_core.backends import MemoryStore, Store
from iii_core.backends.engine_dir import EngineDirStore
from iii_core.backends.redis import RedisStore

HERE = Path(__file__).parent
START, END = "<!-- bench/copy.py: start -->", "<!-- bench/copy.py: end -->"
KINDS = ("engine-dir", "log", "redis", "redis-cluster")


def dataset(items: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """Hashes of 2,000 items (4 in 5 stream groups, 1 in 5 state scopes), mixed values."""
    per_hash = 2000
    for h in range(items // per_hash):
        hash_key = f"stream:s{h % 4}:g{h}" if h % 5 else f"state:scope{h}"
        yield (
            hash_key,
            {
                f"id-{i}": {"n": i, "f": i / 7, "t": f"text é {i}", "l": [i, None], "o": {"a": i}}
                for i in range(per_hash)
            },
        )


def _set_call(hash_key: str, field: str, value: Any) -> tuple[str, dict[str, Any]]:
    if hash_key.startswith("state:"):
        return "state::set", {"scope": hash_key[6:], "key": field, "value": value}
    _, stream, group = hash_key.split(":", 2)
    payload = {"stream_name": stream, "group_id": group, "item_id": field, "data": value}
    return "stream::set", payload


def _open_store(spec: str) -> Store:
    if spec.startswith("engine-dir:"):
        return EngineDirStore(spec.split(":", 1)[1])
    if spec.startswith("log:"):
        return MemoryStore(spec.split(":", 1)[1])
    return RedisStore.from_url(spec)


def item_by_item(source: str, target: str) -> float:
    """Items per second of the peer: read the source, one public ``set`` call per item."""
    endpoint = open_endpoint(source)
    store = _open_store(target)
    count = 0
    start = time.perf_counter()
    try:
        for hash_key, items in endpoint.hashes():
            for field, value in items:
                store.call(*_set_call(hash_key, field, value))
                count += 1
    finally:
        store.close()
        endpoint.close()
    return count / (time.perf_counter() - start)


def run(quick: bool) -> list[str]:
    items = 10_000 if quick else 100_000
    peer_items = 2_000 if quick else 10_000
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp))
        server.start()
        clusters = [RedisCluster(Path(tmp) / f"cluster{n}", replicas=0) for n in range(2)]
        try:
            for cluster in clusters:
                cluster.start()
                for node in cluster.nodes:
                    with node.client() as node_client:
                        node_client.config_set("appendonly", "no")
            client = redis.Redis.from_url(server.url)
            client.config_set("appendonly", "no")
            counter = itertools.count(1)
            base = server.url.rsplit("/", 1)[0]

            def spec(kind: str, *, source: bool = False) -> str:
                n = next(counter)
                if kind == "engine-dir":
                    return f"engine-dir:{tmp}/dir{n}"
                if kind == "log":
                    return f"log:{tmp}/store{n}.log"
                if kind == "redis-cluster":
                    cluster = clusters[0 if source else 1]
                    cluster.flush()
                    return cluster.url.replace("redis://", "redis-cluster://", 1)
                # Redis has 16 databases: the source lives in 1, every target in a fresh 2.
                url = f"{base}/{1 if source else 2}"
                with redis.Redis.from_url(url) as fresh:
                    fresh.flushdb()
                return url

            def populate(count: int) -> str:
                master = spec("engine-dir")
                with EngineDirStore(master.split(":", 1)[1]) as store:
                    for hash_key, values in dataset(count):
                        store.storage.put_items(hash_key, values)
                return master

            master = populate(items)
            sources = {kind: spec(kind, source=True) for kind in KINDS}
            for source in sources.values():
                copy_stores(master, source)
            lines += [
                f"### {items:,} items between every pair of store kinds (items/s)",
                "",
                "| from \\ to | " + " | ".join(KINDS) + " |",
                "|---|" + "---:|" * len(KINDS),
            ]
            for source_kind in KINDS:
                rates = []
                for target_kind in KINDS:
                    summary = copy_stores(sources[source_kind], spec(target_kind))
                    rates.append(f"{summary.items / summary.seconds:,.0f}")
                lines.append(f"| {source_kind} | " + " | ".join(rates) + " |")
            small = populate(peer_items)
            lines += [
                "",
                f"### Beside one `set` call per item ({peer_items:,} items from an engine dir)",
                "",
                "| into | iii-core copy | one set call per item (peer) | copy / peer |",
                "|---|---:|---:|---:|",
            ]
            # The peer needs a store class to call; a cluster store is not in this branch.
            for kind in KINDS[:3]:
                summary = copy_stores(small, spec(kind))
                copy_rate = summary.items / summary.seconds
                peer_rate = item_by_item(small, spec(kind))
                lines.append(
                    f"| {kind} | {copy_rate:,.0f} items/s | {peer_rate:,.0f} items/s "
                    f"| {copy_rate / peer_rate:,.1f}x |"
                )
            client.close()
        finally:
            for cluster in clusters:
                cluster.stop()
            server.stop()
    return lines


def record(lines: list[str]) -> None:
    section = "\n".join(
        [
            START,
            "## Copy between stores (`iii-core copy`, `python -m bench.copy --record`)",
            "",
            f"- machine: {platform.machine()}, {os.cpu_count()} cores (load average "
            f"{os.getloadavg()[0]:.1f} when recorded), Python {platform.python_version()}; Redis "
            "on loopback without persistence, each cluster 3 primaries on loopback; engine "
            "dir and log on the local disk, no fsync.",
            "- An engine dir rewrites a whole index file per write (the engine's format), so the "
            "peer's one call per item costs the size of the group each time; the copy writes "
            "each index once.",
            "",
            *lines,
            END,
        ]
    )
    path = HERE / "RESULTS.md"
    text = path.read_text(encoding="utf-8")
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 items instead of 100,000")
    parser.add_argument("--record", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    lines = run(args.quick)
    print("\n".join(lines))
    if args.record:
        record(lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
