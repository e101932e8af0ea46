"""Load benchmark of ``iii-core serve``: many WebSocket subscribers on one group, many updates.

Usage: ``python -m bench.ws_load [--subscribers N] [--updates N] [--backends memory,redis]
[--record]`` from the repository root; ``--record`` rewrites ``bench/RESULTS-ws.md``.

For each store, ``iii-core serve`` runs as a child process (over the embedded store, or over a
redis-server started here with persistence off). This process opens the subscribers, each a
minimal WebSocket client that joins the group and counts the frames it receives, and one writer
that sends ``stream::set`` calls to the server over one kept-alive HTTP connection, one after
the other, each carrying the wall-clock time it was sent. Every subscriber must receive every
update. Reported: delivered messages per second (all subscribers' update frames, from the first
write to the last receipt), latency from write to receipt (p50/p99/max over every frame of
every subscriber, in a histogram of 0.1 ms buckets: the n-th update frame a subscriber reads is
update n, whose send time the writer kept, on the same clock), and the server's memory per
connection (resident memory after the subscribers joined, minus before, divided by their
number), with its CPU time per delivered message. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import platform
import re
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import redis
from tests.redis_server import RedisServer
from tests.server.support import ServeProcess

from bench.http_load import MARKER as HTTP_MARKER

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS-ws.md"
# The markers of bench.fleet's section (here, as bench.fleet imports this module).
FLEET_START, FLEET_END = "<!-- fleet: start -->", "<!-- fleet: end -->"
STREAM, GROUP = "load", "g"
BUCKET_NS = 100_000  # 0.1 ms
BUCKETS = 100_000  # up to 10 s; the last bucket holds anything slower
ITEMS = 100
CONNECT_BATCH = 50
_decoder = msgspec.json.Decoder()


# -- the server --------------------------------------------------------------------------------


class Server(ServeProcess):
    """``iii-core serve --port 0`` as a child process, with its memory and CPU time."""

    def rss_bytes(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = re.search(r"VmRSS:\s+(\d+) kB", status)
        assert kib is not None
        return int(kib.group(1)) * 1024

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the subscribers ---------------------------------------------------------------------------


class Subscriber(asyncio.Protocol):
    """A WebSocket client that joins the group, counts the update frames it receives and adds
    each one's latency to the shared histogram."""

    def __init__(self, number: int, sent_ns: array[int], histogram: array[int]) -> None:
        self.number = number
        self.sent_ns = sent_ns
        self.histogram = histogram
        self.buffer = bytearray()
        self.upgraded = False
        self.synced = asyncio.get_running_loop().create_future()
        self.updates = 0
        self.last_receipt_ns = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def _join(self) -> None:
        assert self.transport is not None
        payload = msgspec.json.encode(
            {
                "type": "join",
                "data": {
                    "subscriptionId": f"s{self.number}",
                    "streamName": STREAM,
                    "groupId": GROUP,
                },
            }
        )
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert len(payload) < 126
        self.transport.write(bytes([0x81, 0x80 | len(payload)]) + mask + masked)

    def data_received(self, data: bytes) -> None:
        now = time.time_ns()
        buffer = self.buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            assert buffer.startswith(b"HTTP/1.1 101"), bytes(buffer[:40])
            del buffer[: end + 4]
            self.upgraded = True
            self._join()
        offset = 0
        size = len(buffer)
        while size - offset >= 2:
            length = buffer[offset + 1] & 0x7F
            start = offset + 2
            if length == 126:
                if size - offset < 4:
                    break
                length = int.from_bytes(buffer[offset + 2 : offset + 4], "big")
                start = offset + 4
            elif length == 127:
                if size - offset < 10:
                    break
                length = int.from_bytes(buffer[offset + 2 : offset + 10], "big")
                start = offset + 10
            end = start + length
            if end > size:
                break
            if not self.synced.done():
                self.synced.set_result(None)
            else:
                self.histogram[
                    min(self._latency_ns(now, buffer, start, end) // BUCKET_NS, BUCKETS - 1)
                ] += 1
                self.updates += 1
            offset = end
        del buffer[:offset]
        self.last_receipt_ns = now

    def _latency_ns(self, now: int, buffer: bytearray, start: int, end: int) -> int:
        """The latency of the update frame ``buffer[start:end]``, received at ``now``: from
        the time its write was sent (the writer's n-th for the n-th frame)."""
        return now - self.sent_ns[self.updates]


# -- the writer --------------------------------------------------------------------------------


async def write_updates(port: int, sent_ns: array[int]) -> None:
    """Send one ``stream::set`` call per entry of ``sent_ns``, one after the other, writing its
    send time there."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for n in range(len(sent_ns)):
        sent = sent_ns[n] = time.time_ns()
        body = msgspec.json.encode(
            {
                "stream_name": STREAM,
                "group_id": GROUP,
                "item_id": f"i{n % ITEMS}",
                "data": {"t": sent, "n": n},
            }
        )
        writer.write(
            b"POST /call/stream::set HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        length = re.search(rb"(?i)content-length: (\d+)", head)
        assert length is not None, head
        await reader.readexactly(int(length.group(1)))
    writer.close()


# -- one run -----------------------------------------------------------------------------------


@dataclass
class Run:
    store: str
    subscribers: int
    updates: int
    delivered: int = 0
    seconds: float = 0.0
    histogram: array[int] = field(default_factory=lambda: array("q", bytes(8 * BUCKETS)))
    rss_per_connection: float = 0.0
    cpu_per_message_us: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)
    wall_seconds: float = 0.0


async def _stats(port: int) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    answer = await reader.read()
    writer.close()
    stats: dict[str, Any] = _decoder.decode(answer.split(b"\r\n\r\n", 1)[1])
    return stats


async def load(server: Server, run: Run) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0.5)
    rss_before = server.rss_bytes()
    subscribers: list[Subscriber] = []
    sent_ns = array("q", bytes(8 * run.updates))

    async def open_subscriber(number: int) -> Subscriber:
        subscriber = Subscriber(number, sent_ns, run.histogram)
        await loop.create_connection(lambda: subscriber, "127.0.0.1", server.port)
        return subscriber

    # In batches, so that the listen backlog never overflows.
    for first in range(0, run.subscribers, CONNECT_BATCH):
        batch = range(first, min(first + CONNECT_BATCH, run.subscribers))
        subscribers.extend(await asyncio.gather(*(open_subscriber(n) for n in batch)))
    await asyncio.wait_for(asyncio.gather(*(s.synced for s in subscribers)), 120)
    await asyncio.sleep(0.5)
    run.rss_per_connection = (server.rss_bytes() - rss_before) / run.subscribers
    cpu_before = server.cpu_seconds()
    await write_updates(server.port, sent_ns)
    deadline = time.monotonic() + 600
    while any(s.updates < run.updates for s in subscribers):
        if time.monotonic() > deadline:
            raise RuntimeError("not every update reached every subscriber")
        await asyncio.sleep(0.05)
    run.cpu_per_message_us = (
        (server.cpu_seconds() - cpu_before) / (run.updates * run.subscribers) * 1e6
    )
    run.delivered = sum(s.updates for s in subscribers)
    run.seconds = (max(s.last_receipt_ns for s in subscribers) - sent_ns[0]) / 1e9
    run.stats = await _stats(server.port)
    for subscriber in subscribers:
        assert subscriber.transport is not None
        subscriber.transport.close()


def bench_store(store: str, subscribers: int, updates: int) -> Run:
    run = Run(store, subscribers, updates)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        redis_server = None
        # One connection per subscriber, plus the writer and the /stats reads.
        connections = str(subscribers + 16)
        args: tuple[str, ...] = ("--max-buffer", str(64 << 20), "--max-connections", connections)
        if store == "redis":
            redis_server = RedisServer(Path(tmp))
            redis_server.start()
            client = redis.Redis.from_url(redis_server.url)
            client.config_set("appendonly", "no")
            client.close()
            args = (*args, "--redis", redis_server.url)
        server = Server(*args)
        try:
            asyncio.run(load(server, run))
        finally:
            server.stop()
            if redis_server is not None:
                redis_server.stop()
    run.wall_seconds = time.monotonic() - started
    return run


# -- report ------------------------------------------------------------------------------------


def _percentile(histogram: array[int], fraction: float) -> float:
    """The latency (ms, the bucket's upper edge) under which ``fraction`` of the frames came."""
    wanted = fraction * sum(histogram)
    seen = 0
    for bucket, count in enumerate(histogram):
        seen += count
        if seen >= wanted and count:
            return (bucket + 1) * BUCKET_NS / 1e6
    return BUCKETS * BUCKET_NS / 1e6


def report(runs: list[Run], command: str, load_before: float) -> str:
    lines = [
        "# WebSocket load: `iii-core serve`",
        "",
        f"Reproduce with `{command}`; this run took {sum(r.wall_seconds for r in runs):.0f} s "
        "in all (servers, subscribers and Redis started and stopped).",
        "",
        "## Machine",
        "",
        f"- {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        f"- load average before the run (other jobs on the machine): {load_before:.2f}",
        f"- Python {platform.python_version()} ({platform.python_implementation()})",
        "- server, subscribers and writer on this one machine, over loopback; the subscribers "
        "and the writer share one process (one core), the server has the other",
        "",
        "## Results",
        "",
        "| store | subscribers | updates | delivered messages | messages/s | latency p50 "
        "| latency p99 | latency max | server memory per connection | server CPU per message "
        "| dropped |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        lines.append(
            f"| {run.store} | {run.subscribers:,} | {run.updates:,} | {run.delivered:,} "
            f"| {run.delivered / run.seconds:,.0f} | {_percentile(run.histogram, 0.5):.1f} ms "
            f"| {_percentile(run.histogram, 0.99):.1f} ms "
            f"| {_percentile(run.histogram, 1.0):.1f} ms "
            f"| {run.rss_per_connection / 1024:.1f} KiB | {run.cpu_per_message_us:.2f} µs "
            f"| {run.stats.get('messages_dropped', '?')} |"
        )
    lines += [
        "",
        "Notes:",
        "- messages/s counts every update frame received by every subscriber, from the first "
        "write to the last receipt; the writer sends one update at a time and waits for its "
        "answer, so the rate is what the server sustains while fanning each update out to every "
        "subscriber.",
        "- latency: from the writer's clock when the update was sent to the subscriber's clock "
        "when the frame was read, over every frame of every subscriber (subscribers x updates "
        "samples per store), in 0.1 ms buckets (a figure is its bucket's upper edge).",
        "- memory: the server's resident memory after the subscribers joined minus before, "
        "per connection (objects of the connection, its subscription, its socket buffers).",
        "- dropped: messages the server did not send (slow-client policy; the limit was raised "
        "to 64 MiB per connection for the run, so no subscriber was dropped).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--subscribers", type=int, default=1_000)
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--backends", default="memory,redis")
    parser.add_argument("--record", action="store_true", help=f"rewrite {RESULTS.name}")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    runs = []
    for store in args.backends.split(","):
        run = bench_store(store, args.subscribers, args.updates)
        print(
            f"{store}: {run.delivered:,} messages in {run.seconds:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        runs.append(run)
    given = [arg for arg in (sys.argv[1:] if argv is None else argv) if arg != "--record"]
    text = report(runs, " ".join(["python -m bench.ws_load", *given]), load_before)
    print(text)
    if args.record:
        # The HTTP section below the marker is bench.http_load's, the fleet section between its
        # markers bench.fleet's: both kept as they are.
        old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
        _, marker, http = old.partition(HTTP_MARKER)
        start, end = old.find(FLEET_START), old.find(FLEET_END)
        fleet = f"\n{old[start : end + len(FLEET_END)]}\n" if 0 <= start < end else ""
        RESULTS.write_text(text + fleet + (f"\n{marker}{http}" if marker else ""), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
