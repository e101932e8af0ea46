"""``iii-core copy``: 100,000 items between every pair of store kinds compare equal (and keep
their order where both stores keep order); dry runs, progress, summaries and clear errors."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import redis

from iii_core._copy import CopyError, copy_stores, open_endpoint
from iii_core.backends import MemoryStore
from iii_core.backends.engine_dir import EngineDirStore
from iii_core.backends.redis import RedisStore
from tests.redis_cluster import RedisCluster
from tests.redis_server import RedisServer

GROUPS, SCOPES, PER_HASH = 40, 10, 2000  # 100,000 items


def dataset() -> Iterator[tuple[str, dict[str, Any]]]:
    """50 hashes of 2,000 items, ids in a scrambled (not sorted) insertion order, values of
    every JSON kind."""
    for h in range(GROUPS + SCOPES):
        hash_key = f"stream:s{h % 4}:g ü {h}" if h < GROUPS else f"state:scope/{h}"
        items = {}
        for i in range(PER_HASH):
            n = (i * 7919) % PER_HASH
            items[f"id-{n}"] = (
                {
                    "n": n,
                    "f": n / 7,
                    "t": f"text é😀 {n}",
                    "l": [n, None, True],
                    "o": {"z": 1, "a": n},
                }
                if n % 3
                else n * 2**40
            )
        yield hash_key, items


def snapshot(spec: str) -> list[tuple[str, list[tuple[str, Any]]]]:
    endpoint = open_endpoint(spec)
    try:
        return sorted(endpoint.hashes())
    finally:
        endpoint.close()


def as_dict(data: list[tuple[str, list[tuple[str, Any]]]]) -> dict[str, dict[str, Any]]:
    return {key: dict(items) for key, items in data}


def canonical(data: list[tuple[str, list[tuple[str, Any]]]]) -> bytes:
    return msgspec.json.encode(as_dict(data), order="sorted")


@pytest.fixture
def specs(
    tmp_path: Path, redis_server: RedisServer, redis_clusters: list[RedisCluster]
) -> Iterator[Callable[..., str]]:
    """``specs(kind, source=False)``: a fresh, empty store of ``kind``. Redis sources live in
    database 1 and targets in database 2; cluster sources in one cluster and targets in the
    other (each emptied when handed out)."""
    counter = itertools.count()
    base = redis_server.url.rsplit("/", 1)[0]

    def make(kind: str, *, source: bool = False) -> str:
        n = next(counter)
        if kind == "engine-dir":
            return f"engine-dir:{tmp_path / f'dir{n}'}"
        if kind == "log":
            return f"log:{tmp_path / f'store{n}.log'}"
        if kind == "redis":
            url = f"{base}/{1 if source else 2}"
            with redis.Redis.from_url(url) as client:
                client.flushdb()
            return url
        cluster = redis_clusters[0 if source else 1]
        cluster.flush()
        return cluster.url.replace("redis://", "redis-cluster://", 1)

    yield make
    redis_server.flush()
    for cluster in redis_clusters:
        cluster.flush()


KINDS = ("engine-dir", "log", "redis", "redis-cluster")


@pytest.mark.slow
def test_100k_items_between_every_pair_of_store_kinds(
    specs: Callable[..., str], tmp_path: Path
) -> None:
    master = tmp_path / "master"
    with EngineDirStore(master) as store:
        for hash_key, items in dataset():
            store.storage.put_items(hash_key, items)
    expected = snapshot(f"engine-dir:{master}")
    assert sum(len(items) for _, items in expected) == 100_000
    order = [(k, [f for f, _ in items]) for k, items in expected]

    def check(source: str, source_kind: str, target_kind: str, *, as_source: bool = False) -> str:
        target = specs(target_kind, source=as_source)
        summary = copy_stores(source, target)
        assert (summary.items, summary.stream_groups, summary.state_scopes) == (100_000, 40, 10)
        copied = snapshot(target)
        # Canonical JSON (sorted keys) tells 1 from 1.0 and True, like same_json, at C speed.
        assert canonical(copied) == canonical(expected), (source_kind, target_kind)
        if not source_kind.startswith("redis") and not target_kind.startswith("redis"):
            assert [(k, [f for f, _ in items]) for k, items in copied] == order
        return target

    # From the engine dir into one store of each kind, then from each of those into each kind.
    sources = {
        kind: check(f"engine-dir:{master}", "engine-dir", kind, as_source=True) for kind in KINDS
    }
    for source_kind, target_kind in itertools.product(KINDS[1:], KINDS):
        check(sources[source_kind], source_kind, target_kind)


def test_copy_merges_into_the_target_and_keeps_its_order(specs: Callable[..., str]) -> None:
    source, target = specs("engine-dir"), specs("log")
    with EngineDirStore(source.split(":", 1)[1]) as store:
        store.call("stream::set", {"stream_name": "s", "group_id": "g", "item_id": "b", "data": 2})
        store.call("stream::set", {"stream_name": "s", "group_id": "g", "item_id": "a", "data": 1})
    endpoint = open_endpoint(target)
    endpoint.write("stream:s:g", [("a", "old"), ("z", "kept")])
    endpoint.close()
    copy_stores(source, target)
    assert snapshot(target) == [("stream:s:g", [("a", 1), ("z", "kept"), ("b", 2)])]
    copy_stores(source, target)  # idempotent: a second run changes nothing
    assert snapshot(target) == [("stream:s:g", [("a", 1), ("z", "kept"), ("b", 2)])]
    # The log is the embedded store's: MemoryStore opens it with the same items, in order.
    with MemoryStore(target.split(":", 1)[1]) as memory:
        assert memory.call("stream::list", {"stream_name": "s", "group_id": "g"}) == [1, "kept", 2]


def test_redis_values_are_read_as_the_redis_store_reads_them(specs: Callable[..., str]) -> None:
    # serde_json's numbers: -0 is the float -0.0 and an integer beyond u64 is a float.
    source, target = specs("redis", source=True), specs("log")
    with redis.Redis.from_url(source) as client:
        client.hset("state:nums", mapping={"neg_zero": b"-0", "huge": b"[18446744073709551616]"})
    with RedisStore.from_url(source) as store:
        expected = store.call("state::list", {"scope": "nums"})
    copy_stores(source, target)
    with MemoryStore(target.split(":", 1)[1]) as memory:
        copied = memory.call("state::list", {"scope": "nums"})
    assert msgspec.json.encode(sorted(copied, key=repr)) == msgspec.json.encode(
        sorted(expected, key=repr)
    )
    assert sorted(copied, key=repr) == sorted([-0.0, [1.8446744073709552e19]], key=repr)
    assert any(type(v) is float and str(v) == "-0.0" for v in copied)


def test_engine_dir_named_by_its_two_directories(specs: Any, tmp_path: Path) -> None:
    source = specs("engine-dir")
    with EngineDirStore(source.split(":", 1)[1]) as store:
        store.call("state::set", {"scope": "app", "key": "k", "value": 1})
    pair = f"engine-dir:{tmp_path / 'streams'}:{tmp_path / 'state'}"
    assert copy_stores(source, pair).items == 1
    assert (tmp_path / "state" / "app.bin").exists()
    assert snapshot(pair) == snapshot(source)
    # The same directories named both ways are one store.
    with pytest.raises(CopyError, match="same store"):
        copy_stores(
            source,
            f"engine-dir:{source.split(':', 1)[1]}/stream_store:{source.split(':', 1)[1]}/state_store.db",
        )


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iii_core.cli", "copy", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_dry_run_progress_and_summary(specs: Any, tmp_path: Path) -> None:
    source, target = specs("engine-dir"), specs("engine-dir")
    with EngineDirStore(source.split(":", 1)[1]) as store:
        for i in range(30):
            store.call(
                "stream::set",
                {"stream_name": "s", "group_id": f"g{i % 3}", "item_id": f"{i}", "data": i},
            )
        store.call("state::set", {"scope": "app", "key": "k", "value": "v"})
    dry = run_cli(source, target, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("would copy 31 items (3 stream groups, 1 state scopes)")
    assert not Path(target.split(":", 1)[1]).exists()  # a dry run does not even open the target
    quiet = run_cli(source, target)  # not a terminal: no progress bar
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert quiet.stdout.startswith(
        f"copied 31 items (3 stream groups, 1 state scopes) from {source} to {target} in "
    )
    shown = run_cli(source, specs("log"), "--progress")
    assert shown.returncode == 0
    assert "31/31 items 100%" in shown.stderr and shown.stderr.endswith("\n")
    assert snapshot(target) == snapshot(source)


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        ("nowhere:x", "log:y", "names no store"),
        ("engine-dir:", "log:y", "names no store"),
        (
            "redis-cluster://127.0.0.1:1",
            "log:{tmp}/y",
            "Redis is unavailable",
        ),
        ("log:{tmp}/a.log", "log:{tmp}/../{name}/a.log", "same store"),
        ("redis://127.0.0.1:1/0", "log:{tmp}/y", "Redis is unavailable"),
        ("log:{tmp}/missing.log", "log:{tmp}/y", "no such log file"),
        ("engine-dir:{tmp}", "log:{tmp}/y", "stream_store nor {tmp}/state_store.db exists"),
    ],
)
def test_cli_errors_are_one_line(tmp_path: Path, source: str, target: str, message: str) -> None:
    fill = {"tmp": str(tmp_path), "name": tmp_path.name}
    done = run_cli(source.format(**fill), target.format(**fill))
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("iii-core copy: ") and done.stderr.count("\n") == 1
    assert message.format(**fill) in done.stderr


def test_unreadable_source_files_are_named_and_nothing_is_copied(specs: Any) -> None:
    source, target = specs("engine-dir"), specs("engine-dir")
    broken = Path(source.split(":", 1)[1]) / "state_store.db" / "broken.bin"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"garbage!")
    with pytest.raises(CopyError, match=str(broken)):
        copy_stores(source, target)
    assert not Path(target.split(":", 1)[1]).exists()
