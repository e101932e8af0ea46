"""Benchmarks of the update-op engine beside its peers, measured in one run; prints ratios.

Usage: ``python -m bench.run [--quick] [--record]`` from the repository root (``make bench``
records). Timings are the
median of several repeats, each averaging many calls; every figure in a row comes from the
same process, back to back, so ratios are meaningful even where absolute numbers drift.
Nothing here is a test: no figure is asserted.
"""

from __future__ import annotations

import argparse
import copy
import importlib.metadata
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import jsonpatch
import msgspec
from iii_helpers.stream import UpdateOp as HelpersUpdateOp
from pydantic import TypeAdapter

from bench.baseline import baseline_module, baseline_source
from bench.stores import bench_stores
from iii_core import apply_update_ops, decode
from iii_core._json import loads
from iii_core.stream import UpdateOp

HERE = Path(__file__).resolve().parent
BASELINE = "236c459"


def per_call_seconds(fn: Callable[[], object], *, budget: float, repeats: int = 7) -> float:
    """Median over ``repeats`` of the mean time per call, each repeat taking about
    ``budget / repeats`` seconds."""
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    calls = max(1, int(budget / repeats / once))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def side_by_side(
    first: Callable[[], object], second: Callable[[], object], *, budget: float, rounds: int = 40
) -> tuple[float, float]:
    """Per-call seconds of ``first`` and ``second``, measured in alternating short bursts (in
    alternating order), each taken as its fastest burst. Bursts are timed in this thread's CPU
    time, so that time spent waiting for a core that other processes hold is not counted."""
    start = time.thread_time()
    first()
    second()
    once = max(time.thread_time() - start, 1e-6)
    calls = max(1, int(budget / rounds / once))
    bests = [float("inf"), float("inf")]
    for round_ in range(rounds):
        # Alternate which goes first, so that neither always runs on a cache the other warmed.
        order = ((0, first), (1, second)) if round_ % 2 else ((1, second), (0, first))
        for slot, fn in order:
            start = time.thread_time()
            for _ in range(calls):
                fn()
            bests[slot] = min(bests[slot], (time.thread_time() - start) / calls)
    return bests[0], bests[1]


def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def document(keys: int) -> dict[str, Any]:
    return {
        f"k{i}": {"n": i, "name": f"item {i}", "inner": {"leaf": {"x": i, "tags": ["a", "b"]}}}
        for i in range(keys)
    }


def bench_deep_merge(budget: float) -> list[str]:
    rows = [
        "| top-level keys | iii-core | deepcopy + in place | jsonpatch.apply_patch "
        "| deepcopy / iii-core | jsonpatch / iii-core |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    value = {"y": 1, "z": [1, 2]}
    op = [{"type": "merge", "path": ["k0", "inner", "leaf"], "value": value}]
    patch = jsonpatch.JsonPatch(
        [{"op": "add", "path": f"/k0/inner/leaf/{key}", "value": v} for key, v in value.items()]
    )

    def deepcopy_update(doc: dict[str, Any]) -> dict[str, Any]:
        new = copy.deepcopy(doc)
        new["k0"]["inner"]["leaf"].update(value)
        return new

    for keys in (10, 1_000, 100_000):
        doc = document(keys)
        ours = per_call_seconds(partial(apply_update_ops, doc, op), budget=budget)
        deep = per_call_seconds(partial(deepcopy_update, doc), budget=budget, repeats=3)
        patched = per_call_seconds(
            partial(patch.apply, doc, in_place=False), budget=budget, repeats=3
        )
        assert apply_update_ops(doc, op)[0] == deepcopy_update(doc) == patch.apply(doc)
        rows.append(
            f"| {keys:,} | {fmt(ours)} | {fmt(deep)} | {fmt(patched)} "
            f"| {deep / ours:,.0f}x | {patched / ours:,.0f}x |"
        )
    return rows


def mixed_document() -> dict[str, Any]:
    doc: dict[str, Any] = {f"f{i}": i for i in range(96)}
    doc.update({"count": 0, "text": "hello", "events": [], "profile": {"name": "a"}})
    return doc


MIXED_OPS: list[Any] = [
    {"type": "set", "path": "status", "value": "active"},
    {"type": "merge", "path": "profile", "value": {"age": 3}},
    {"type": "increment", "path": "count", "by": 5},
    {"type": "decrement", "path": "f1", "by": 2},
    {"type": "append", "path": "events", "value": {"kind": "start"}},
    {"type": "append", "path": "text", "value": " world"},
    {"type": "remove", "path": "f2"},
    {"type": "merge", "path": ["a", "b", "c"], "value": {"deep": True}},
    {"type": "set", "path": "f3", "value": None},
    {"type": "increment", "path": "f4", "by": 1},
]


def bench_against_baseline(budget: float) -> list[str]:
    """Today's engine beside the one at BASELINE, both imported into this process."""
    tiny: dict[str, Any] = {"n": 1, "name": "x"}
    workloads: list[tuple[str, Any, list[Any], str]] = [
        ("one increment, 2-key document", tiny, [MIXED_OPS[2] | {"path": "n"}], "≥1.5x"),
        ("10 mixed ops, 100-key document", mixed_document(), MIXED_OPS, "≥1.5x"),
        ("10,000 mixed ops, 100-key document", mixed_document(), MIXED_OPS * 1000, "≥1.5x"),
    ]
    rows = [
        f"| workload | {BASELINE} | this tree | speed-up | target |",
        "|---|---:|---:|---:|---:|",
    ]
    with baseline_module(BASELINE, "iii_core.update") as old:
        for label, doc, ops, target in workloads:
            assert old.apply_update_ops(doc, ops) == apply_update_ops(doc, ops)
            before, now = side_by_side(
                partial(old.apply_update_ops, doc, ops),
                partial(apply_update_ops, doc, ops),
                budget=budget,
            )
            rows.append(
                f"| {label} | {fmt(before)} | {fmt(now)} | {before / now:.2f}x | {target} |"
            )
    return rows


def bench_mixed_batch(budget: float) -> list[str]:
    doc = mixed_document()
    ops = MIXED_OPS
    structs = msgspec.convert(ops, list[UpdateOp])
    with_dicts = per_call_seconds(lambda: apply_update_ops(doc, ops), budget=budget)
    with_structs = per_call_seconds(lambda: apply_update_ops(doc, structs), budget=budget)

    def deepcopy_batch() -> dict[str, Any]:
        new = copy.deepcopy(doc)
        new["status"] = "active"
        new["profile"].update({"age": 3})
        new["count"] += 5
        new["f1"] -= 2
        new["events"].append({"kind": "start"})
        new["text"] += " world"
        del new["f2"]
        new.setdefault("a", {}).setdefault("b", {}).setdefault("c", {}).update({"deep": True})
        new["f3"] = None
        new["f4"] += 1
        return new

    assert apply_update_ops(doc, ops)[0] == deepcopy_batch()
    peer = per_call_seconds(deepcopy_batch, budget=budget)
    n = len(ops)
    return [
        "| input | per op | per batch of 10 | deepcopy + in place (per op) | ratio |",
        "|---|---:|---:|---:|---:|",
        f"| wire dicts | {fmt(with_dicts / n)} | {fmt(with_dicts)} | {fmt(peer / n)} "
        f"| {peer / with_dicts:.1f}x |",
        f"| generated Structs | {fmt(with_structs / n)} | {fmt(with_structs)} | {fmt(peer / n)} "
        f"| {peer / with_structs:.1f}x |",
    ]


def bench_decode(budget: float) -> list[str]:
    rows = [
        "| ops in the list | iii-core (msgspec Structs) | iii-helpers 0.20.0 (pydantic) | ratio |",
        "|---:|---:|---:|---:|",
    ]
    adapter = TypeAdapter(list[HelpersUpdateOp])
    sample = [
        {"type": "set", "path": "status", "value": {"state": "on", "n": [1, 2, 3]}},
        {"type": "merge", "path": ["a", "b"], "value": {"x": 1, "y": "two"}},
        {"type": "increment", "path": "count", "by": 5},
        {"type": "decrement", "path": "left", "by": 1},
        {"type": "append", "path": "events", "value": {"kind": "chunk", "text": "hello"}},
        {"type": "remove", "path": "old"},
    ]
    for count in (6, 60, 600):
        data = msgspec.json.encode((sample * (count // len(sample)))[:count])
        ours = per_call_seconds(partial(decode, data, list[UpdateOp]), budget=budget)
        theirs = per_call_seconds(partial(adapter.validate_json, data), budget=budget)
        rows.append(f"| {count} | {fmt(ours)} | {fmt(theirs)} | {theirs / ours:.1f}x |")
    return rows


def bench_cli(lines: int, rounds: int) -> list[str]:
    """``iii-core apply`` over a pipe, from this tree and from BASELINE's source, run in turn
    (alternating which goes first); each takes its fastest run in CPU seconds of the command
    (start-up included), so that other processes on a shared machine do not skew the ratio."""
    payload = b"".join(
        msgspec.json.encode(
            {"old": {"n": i, "tags": ["a"]}, "ops": [{"type": "increment", "path": "n", "by": 1}]}
        )
        + b"\n"
        for i in range(lines)
    )
    command = [sys.executable, "-m", "iii_core.cli", "apply"]

    def run(source: Path) -> tuple[float, float, bytes]:
        env = {**os.environ, "PYTHONPATH": str(source)}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, input=payload, capture_output=True, check=True, env=env)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        return cpu, wall, done.stdout

    best = {"before": (float("inf"), 0.0), "now": (float("inf"), 0.0)}
    with baseline_source(BASELINE) as old_source:
        sources = {"before": old_source, "now": HERE.parent / "src"}
        for round_ in range(rounds):
            for name in ("before", "now") if round_ % 2 else ("now", "before"):
                cpu, wall, out = run(sources[name])
                assert out.count(b"\n") == lines
                best[name] = min(best[name], (cpu, wall))
    (before, _), (now, wall) = best["before"], best["now"]

    def in_process() -> None:
        for line in payload.splitlines():
            request = loads(line)  # as the command reads a line (serde_json number rules)
            msgspec.json.encode(apply_update_ops(request["old"], request["ops"]))

    start = time.perf_counter()
    in_process()
    inner = time.perf_counter() - start
    return [
        f"| requests | {BASELINE} (CPU) | this tree (CPU) | speed-up | target "
        "| this tree, wall time (incl. start-up) | same work in-process, no pipe |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {lines:,} | {lines / before:,.0f} lines/s | {lines / now:,.0f} lines/s "
        f"| {before / now:.2f}x | not slower | {fmt(wall)} ({lines / wall:,.0f} lines/s) "
        f"| {lines / inner:,.0f} lines/s |",
    ]


NOTES = """\
Notes on the figures:
- Section 0 imports the update engine of commit 236c459 (extracted with `git archive` into a
  temporary directory) beside today's, and times both in alternating bursts of this thread's
  CPU time, each taking its fastest burst, so that other processes on a shared machine do not
  skew the ratio.
- Section 4: the command from this tree and from 236c459's source, run in turn over one pipe
  each, each taking its fastest run in CPU seconds of the command, start-up included. It reads
  every line with serde_json's number rules (`iii_core._json`: msgspec, plus C-speed searches
  for `-0` and 19-digit integers, rewriting the rare lines that have one); `apply` imports
  neither the stores nor asyncio, nor importlib.metadata unless `--version` is asked.
- Targets 1 to 3 are met. The merge cost at 100,000 keys is the one copy of the root object on
  the touched path (the document is never walked); the peers copy the whole document.
- Section 5: the stores beside the previous release (236c459), both imported in one process
  and run round after round (`bench/stores.py`); each ratio is the median of the rounds'.

"""


def machine() -> list[str]:
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("iii-core", "msgspec", "jsonpatch", "pydantic", "iii-helpers")
    )
    return [
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}); {versions}",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short budgets, for a smoke run")
    parser.add_argument("--record", action="store_true", help="write bench/RESULTS.md")
    args = parser.parse_args()
    budget = 0.3 if args.quick else 2.0
    sections = [
        ("Machine", machine()),
        (
            f"0. The update engine beside {BASELINE} (both in this process, interleaved)",
            bench_against_baseline(budget),
        ),
        (
            "1. One merge at a depth-3 path (target: ≥100x both peers at 100,000 keys)",
            bench_deep_merge(budget),
        ),
        (
            "2. A batch of 10 mixed ops on a 100-key document (target: < 2 µs per op)",
            bench_mixed_batch(budget),
        ),
        (
            "3. Decoding an op list from JSON bytes into typed ops (target: ≥5x)",
            bench_decode(budget),
        ),
        (
            "4. The command line, `iii-core apply`",
            bench_cli(*((10_000, 2) if args.quick else (100_000, 6))),
        ),
        (
            "5. Stores: `stream::update` and `stream::list` (Redis on loopback)",
            bench_stores(args.quick),
        ),
    ]
    text = "\n\n".join(f"## {title}\n\n" + "\n".join(rows) for title, rows in sections)
    print(text)
    if args.record:
        header = (
            "# Benchmark results\n\nReproduce with `make bench` (runs `python -m bench.run "
            "--record`, which rewrites this file). Ratios are peer time / iii-core time, "
            "measured back to back in one process.\n\n" + NOTES
        )
        (HERE / "RESULTS.md").write_text(header + text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
