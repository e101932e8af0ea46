"""Fleet benchmark: several ``iii-core serve`` processes on one Redis (and on a 3-primary Redis
Cluster), each serving distinct groups, beside today's single-channel version.

Usage: ``python -m bench.fleet [--processes 4] [--groups 4] [--subscribers 5] [--updates 4000]
[--record]`` from the repository root; ``--record`` writes the "Fleet" section of
``bench/RESULTS-ws.md`` (the rest of the file is left as it is).

Each run starts the servers as child processes (persistence off on every Redis node). Process
``p`` gets ``--subscribers`` WebSocket subscribers on each of its ``--groups`` groups, joined to
it only; one writer per process sends ``stream::set`` calls to its process, one after the
other, to the groups of every process in turn, so that most writes are delivered by another
process than the one that made them. Every subscriber must receive every update of its group.
Reported per run: the messages each process received from Redis and decoded (its ``/stats``;
today's version has one channel and decodes every message, by construction, and no counter),
delivered messages per second (from the first write to the last receipt) and the latency from
write to receipt (p50/p99, every frame of every subscriber; one clock, one machine). Today's
version is commit ``236c459`` (``git worktree add /tmp/base-fleet 236c459``, done here if
missing), run from the same interpreter with its ``src`` first on ``PYTHONPATH``; it has no
Redis Cluster support. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
import redis
from tests.redis_cluster import RedisCluster
from tests.redis_server import RedisServer
from tests.server.support import ServeProcess

from bench.ws_load import (
    BUCKETS,
    FLEET_END,
    FLEET_START,
    Subscriber,
    _percentile,
    _stats,
)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS-ws.md"
BASE_COMMIT = "236c459"
BASE_TREE = Path(tempfile.gettempdir()) / "base-fleet"
SECTION_START, SECTION_END = FLEET_START, FLEET_END
STREAM = "fleet"
_decoder = msgspec.json.Decoder()


class GroupSubscriber(Subscriber):
    """A subscriber of one group, sampled on every frame."""

    def __init__(self, number: int, group: str, histogram: array[int]) -> None:
        super().__init__(number, array("q"), histogram)
        self.group = group

    def _latency_ns(self, now: int, buffer: bytearray, start: int, end: int) -> int:
        # Several writers feed one group: each frame carries its write's time.
        message = _decoder.decode(buffer[start:end])
        latency: int = now - message["event"]["data"]["t"]
        return latency

    def _join(self) -> None:
        assert self.transport is not None
        payload = msgspec.json.encode(
            {
                "type": "join",
                "data": {
                    "subscriptionId": f"s{self.number}",
                    "streamName": STREAM,
                    "groupId": self.group,
                },
            }
        )
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert len(payload) < 126
        self.transport.write(bytes([0x81, 0x80 | len(payload)]) + mask + masked)


@dataclass
class Run:
    label: str
    processes: int
    groups: int
    subscribers: int
    updates: int
    delivered: int = 0
    seconds: float = 0.0
    histogram: array[int] = field(default_factory=lambda: array("q", bytes(8 * BUCKETS)))
    stats: list[dict[str, Any]] = field(default_factory=list)


def _same(subscriber: GroupSubscriber) -> GroupSubscriber:
    return subscriber


def group_name(process: int, group: int) -> str:
    return f"p{process}g{group}"


async def write(port: int, writer_number: int, run: Run, groups: list[str]) -> int:
    """One writer's share of the updates, one after the other; the time of its first, ns."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    first = 0
    for n in range(writer_number, run.updates, run.processes):
        sent = time.time_ns()
        first = first or sent
        body = msgspec.json.encode(
            {
                "stream_name": STREAM,
                "group_id": groups[n % len(groups)],
                "item_id": f"i{n % 50}",
                "data": {"t": sent},
            }
        )
        writer.write(
            b"POST /call/stream::set HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        length = re.search(rb"Content-Length: (\d+)", head)
        assert length is not None, head
        await reader.readexactly(int(length.group(1)))
    writer.close()
    return first


async def load(servers: list[ServeProcess], run: Run) -> None:
    loop = asyncio.get_running_loop()
    groups = [group_name(p, g) for g in range(run.groups) for p in range(run.processes)]
    subscribers: list[GroupSubscriber] = []
    for p, server in enumerate(servers):
        for g in range(run.groups):
            for _ in range(run.subscribers):
                subscriber = GroupSubscriber(len(subscribers), group_name(p, g), run.histogram)
                await loop.create_connection(partial(_same, subscriber), "127.0.0.1", server.port)
                subscribers.append(subscriber)
    await asyncio.wait_for(asyncio.gather(*(s.synced for s in subscribers)), 120)
    await asyncio.sleep(0.5)
    firsts = await asyncio.gather(
        *(write(server.port, n, run, groups) for n, server in enumerate(servers))
    )
    per_group = run.updates // len(groups)
    deadline = time.monotonic() + 600
    while any(s.updates < per_group for s in subscribers):
        if time.monotonic() > deadline:
            raise RuntimeError("not every update reached every subscriber")
        await asyncio.sleep(0.05)
    run.delivered = sum(s.updates for s in subscribers)
    run.seconds = (max(s.last_receipt_ns for s in subscribers) - min(firsts)) / 1e9
    await asyncio.sleep(0.5)
    run.stats = [await _stats(server.port) for server in servers]
    for subscriber in subscribers:
        assert subscriber.transport is not None
        subscriber.transport.close()


@contextlib.contextmanager
def deployment(kind: str, directory: Path) -> Iterator[tuple[str, str]]:
    """(serve option, URL) of a fresh Redis or Redis Cluster, persistence off."""
    if kind == "cluster":
        cluster = RedisCluster(directory, replicas=0)
        cluster.start()
        try:
            for node in cluster.nodes:
                client = node.client()
                client.config_set("appendonly", "no")
                client.close()
            yield "--redis-cluster", cluster.url
        finally:
            cluster.stop()
        return
    server = RedisServer(directory)
    server.start()
    try:
        client = redis.Redis.from_url(server.url)
        client.config_set("appendonly", "no")
        client.close()
        yield "--redis", server.url
    finally:
        server.stop()


def base_tree() -> Path:
    if not (BASE_TREE / "src" / "iii_core").exists():
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(BASE_TREE), BASE_COMMIT],
            cwd=HERE.parent,
            check=True,
            capture_output=True,
        )
    return BASE_TREE


def bench(
    label: str, kind: str, extra: tuple[str, ...], base: bool, args: argparse.Namespace
) -> Run:
    run = Run(label, args.processes, args.groups, args.subscribers, args.updates)
    saved = os.environ.get("PYTHONPATH")
    with tempfile.TemporaryDirectory() as tmp, deployment(kind, Path(tmp)) as (option, url):
        if base:
            os.environ["PYTHONPATH"] = str(base_tree() / "src")
        try:
            servers = [
                ServeProcess(option, url, "--max-buffer", str(64 << 20), *extra)
                for _ in range(args.processes)
            ]
        finally:
            if saved is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = saved
        try:
            asyncio.run(load(servers, run))
        finally:
            for server in servers:
                server.stop()
    return run


def report(runs: list[Run], command: str, load_before: float) -> str:
    lines = [
        SECTION_START,
        "## Fleet: several `iii-core serve` processes on one Redis or a Redis Cluster",
        "",
        f"Reproduce with `{command}` ({platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average before the run {load_before:.2f}; "
        "servers, Redis and the clients on this one machine).",
        "",
        "| run | processes x groups x subscribers | updates | received per process "
        "| decoded per process | delivered messages | messages/s | latency p50 | latency p99 |",
        "|---|---|---:|---|---|---:|---:|---:|---:|",
    ]
    for run in runs:
        if run.stats and "events_decoded" in run.stats[0]:
            received = " / ".join(
                f"{100 * s['events_received'] / run.updates:.0f}%" for s in run.stats
            )
            decoded = " / ".join(
                f"{100 * s['events_decoded'] / run.updates:.0f}%" for s in run.stats
            )
        else:
            received = decoded = "100% each (one channel)"
        lines.append(
            f"| {run.label} | {run.processes} x {run.groups} x {run.subscribers} | {run.updates:,} "
            f"| {received} | {decoded} | {run.delivered:,} | {run.delivered / run.seconds:,.0f} "
            f"| {_percentile(run.histogram, 0.5):.1f} ms "
            f"| {_percentile(run.histogram, 0.99):.1f} ms |"
        )
    lines += [
        "",
        "Notes:",
        "- received/decoded: messages each process got from Redis and decoded, as a share of "
        "all updates (its `/stats`). With per-group routing a process decodes its own groups' "
        "share (1/processes); with the engine channel on it also receives iii-core's copy of "
        "every stream change on `stream::events` and skips it undecoded.",
        "- today's version (`236c459`): one channel `iii-core:events`, every process receives "
        "and decodes every event.",
        "- latency: from the writer's clock when the update was sent to the subscriber's clock "
        "when its frame was read, every frame of every subscriber.",
        SECTION_END,
    ]
    return "\n".join(lines) + "\n"


def record(section: str) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    if SECTION_START in text and SECTION_END in text:
        before, rest = text.split(SECTION_START, 1)
        after = rest.split(SECTION_END, 1)[1].lstrip("\n")
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")


RUNS = {
    "redis": ("one Redis, routed, engine channel on", "redis", (), False),
    "redis-no-engine": (
        "one Redis, routed, engine channel off",
        "redis",
        ("--no-engine-channel",),
        False,
    ),
    "redis-today": (f"one Redis, today ({BASE_COMMIT})", "redis", (), True),
    "cluster": ("3-primary cluster, routed, engine channel on", "cluster", (), False),
    "cluster-no-engine": (
        "3-primary cluster, routed, engine channel off",
        "cluster",
        ("--no-engine-channel",),
        False,
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--groups", type=int, default=4, help="groups per process")
    parser.add_argument("--subscribers", type=int, default=5, help="subscribers per group")
    parser.add_argument("--updates", type=int, default=4_000)
    parser.add_argument("--runs", default=",".join(RUNS))
    parser.add_argument(
        "--record", action="store_true", help=f"write the Fleet section of {RESULTS.name}"
    )
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    runs = []
    for name in args.runs.split(","):
        label, kind, extra, base = RUNS[name]
        run = bench(label, kind, extra, base, args)
        print(
            f"{label}: {run.delivered:,} messages in {run.seconds:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        runs.append(run)
    given = [arg for arg in (sys.argv[1:] if argv is None else argv) if arg != "--record"]
    section = report(runs, " ".join(["python -m bench.fleet", *given]), load_before)
    print(section)
    if args.record:
        record(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
