"""Append cost of the store log: records per second with and without fsync, ``DurableLog``
beside the inline log code of ``236c459`` (``MemoryStore._log``), measured in one run.

Usage: ``python -m bench.durable_log [--quick] [--record]`` from the repository root.
``236c459`` is checked out into a temporary git worktree (removed afterwards) and its
``MemoryStore`` runs in a child process that imports that tree (the two versions cannot share
one interpreter, their packages have the same name); the two sides take turns, round by round,
so that drift in the machine's speed reaches both. Every record is the same on both sides.
Nothing here is a test: no figure is asserted.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from iii_core.backends._durable_log import DurableLog

BASE_COMMIT = "236c459"
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS-durable-log.md"

# The child: today's MemoryStore, appending the same records through its inline ``_log``.
BASE_CHILD = """
    import json, sys, tempfile, time, os
    sys.path.insert(0, sys.argv[1])
    from iii_core.backends.memory import MemoryStore
    assert MemoryStore.__module__ == "iii_core.backends.memory"
    for command in sys.stdin:
        fsync, count = json.loads(command)
        with tempfile.TemporaryDirectory() as directory:
            store = MemoryStore(os.path.join(directory, "store.log"), fsync=fsync)
            start = time.perf_counter()
            for i in range(count):
                store._log(["stream:bench:g", f"item-{i % 1000}", {"n": i, "pad": "x" * 100}])
            elapsed = time.perf_counter() - start
            store.close()
        print(count / elapsed, flush=True)
"""


def durable_log_rate(fsync: bool, count: int, *, compact: bool) -> float:
    with tempfile.TemporaryDirectory() as directory:
        log, _ = DurableLog.open(Path(directory) / "store.log", fsync=fsync)
        hashes: dict[str, dict[str, Any]] = {"stream:bench:g": {}}
        fields = hashes["stream:bench:g"]
        start = time.perf_counter()
        for i in range(count):
            field, value = f"item-{i % 1000}", {"n": i, "pad": "x" * 100}
            log.append_set("stream:bench:g", field, value)
            if compact:
                fields[field] = value
                log.maybe_compact(hashes)
        elapsed = time.perf_counter() - start
        log.close()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer records and rounds")
    parser.add_argument("--record", action="store_true", help=f"write {RESULTS.name}")
    options = parser.parse_args()
    rounds = 3 if options.quick else 5
    counts = {False: 20_000 if options.quick else 100_000, True: 300 if options.quick else 2_000}
    repo = HERE.parent
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch) / "base"
        subprocess.run(
            [
                "git",
                "-C",
                str(repo),
                "worktree",
                "add",
                "--detach",
                "--quiet",
                str(base),
                BASE_COMMIT,
            ],
            check=True,
        )
        child = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(BASE_CHILD), str(base / "src")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdin is not None and child.stdout is not None
        samples: dict[str, list[float]] = {}
        try:
            for _ in range(rounds):
                for fsync in (False, True):
                    count = counts[fsync]
                    child.stdin.write(json.dumps([fsync, count]) + "\n")
                    child.stdin.flush()
                    samples.setdefault(f"base {fsync}", []).append(float(child.stdout.readline()))
                    for compact in (False, True):
                        samples.setdefault(f"new {fsync} {compact}", []).append(
                            durable_log_rate(fsync, count, compact=compact)
                        )
        finally:
            child.stdin.close()
            child.wait(timeout=60)
            subprocess.run(
                ["git", "-C", str(repo), "worktree", "remove", "--force", str(base)], check=True
            )
    rate = {name: statistics.median(values) for name, values in samples.items()}
    lines = [
        "| fsync | records | 236c459 inline `_log` | `DurableLog.append_set` | ratio "
        "| `append_set` + `maybe_compact` | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for fsync in (False, True):
        base_rate = rate[f"base {fsync}"]
        plain, compacting = rate[f"new {fsync} False"], rate[f"new {fsync} True"]
        lines.append(
            f"| {'on' if fsync else 'off'} | {counts[fsync]:,} | {base_rate:,.0f}/s "
            f"| {plain:,.0f}/s | {plain / base_rate:.2f}x "
            f"| {compacting:,.0f}/s | {compacting / base_rate:.2f}x |"
        )
    table = "\n".join(lines)
    print(table)
    if options.record:
        RESULTS.write_text(
            "# Store log append cost\n\n"
            "Reproduce with `python -m bench.durable_log --record`. Records per second, median of "
            f"{rounds} rounds taken in turn with the {BASE_COMMIT} side; ratio = DurableLog / "
            f"{BASE_COMMIT} (above 1 is faster). Each record is a ~140-byte set of one of 1,000 "
            "fields; with `maybe_compact` the log is compacted as it grows (1 MiB, 2x).\n\n"
            f"- machine: {platform.machine()}, Linux {platform.release()}; "
            f"Python {platform.python_version()}\n"
            f"- log files in {tempfile.gettempdir()}\n\n" + table + "\n"
        )


if __name__ == "__main__":
    main()
