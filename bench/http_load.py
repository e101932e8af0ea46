"""HTTP write-path benchmark of ``iii-core serve``: ``POST /call/stream::update`` from raw-socket
clients, beside today's main and beside a bare asyncio server making the same store call.

Usage: ``python -m bench.http_load [--seconds S] [--rounds N] [--clients 1,8,64] [--base DIR]
[--instructions N] [--record]`` from the repository root; ``--record`` rewrites the HTTP section of
``bench/RESULTS-ws.md`` (``bench.ws_load --record`` keeps it).

Three servers run as child processes over the embedded store, each on one loopback port:

- ``this``: ``iii-core serve`` of this checkout;
- ``main``: ``iii-core serve`` of commit ``236c459`` (today's main), from a temporary git
  worktree (``--base`` to reuse one), imported first on ``PYTHONPATH``;
- ``bare``: the floor, an asyncio ``Protocol`` that finds the end of the head and the
  ``Content-Length`` by hand (benchmark only: no validation) and calls
  ``MemoryStore.call("stream::update", payload)`` itself.

The load comes from this process: N clients, each one kept-alive TCP connection sending one
request at a time over a raw socket (an HTTP library would saturate first), for ``--seconds``
per run. Runs are interleaved (every round runs every server at every client count, in turn),
and the median round is reported: requests per second, and the server's CPU time per request
(user + system, from ``/proc``). Nothing is asserted.

``--instructions N`` also counts, under valgrind's callgrind, each server's user-space
instructions per request (runs of N and 2N requests from 8 clients; the difference cancels
start-up) and those of h11's own request/response cycle alone: a figure that does not move with
the machine's load, where CPU times on a shared machine do.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS-ws.md"
MARKER = "<!-- bench.http_load: everything below is rewritten by python -m bench.http_load -->"
BASE_COMMIT = "236c459"
_LISTENING = re.compile(rb"listening on 127\.0\.0\.1:(\d+)")


def request_bytes(client: int) -> bytes:
    body = msgspec.json.encode(
        {
            "stream_name": "load",
            "group_id": "g",
            "item_id": f"i{client}",
            "ops": [{"type": "increment", "path": "n", "by": 1}],
        }
    )
    return (
        b"POST /call/stream::update HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


# -- the bare server (a child process: python -m bench.http_load --bare) ----------------------


def run_bare_server() -> None:
    from iii_core.backends import MemoryStore

    store = MemoryStore()
    decoder, encoder = msgspec.json.Decoder(), msgspec.json.Encoder()

    class Bare(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            self.transport = transport
            self.buffer = b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
                head = self.buffer[: end + 2].lower()
                start = head.index(b"content-length:") + 15
                length = int(head[start : head.index(b"\r\n", start)])
                if len(self.buffer) < end + 4 + length:
                    return
                body = self.buffer[end + 4 : end + 4 + length]
                self.buffer = self.buffer[end + 4 + length :]
                answer = encoder.encode(
                    {"result": store.call("stream::update", decoder.decode(body))}
                )
                self.transport.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    + str(len(answer)).encode()
                    + b"\r\n\r\n"
                    + answer
                )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Bare, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        print(f"bare: listening on 127.0.0.1:{port}", flush=True)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()

    asyncio.run(main())


# -- the servers ------------------------------------------------------------------------------


class Server:
    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=ROOT
        )
        assert self.process.stdout is not None
        found = _LISTENING.search(self.process.stdout.readline())
        if found is None:
            self.process.kill()
            raise RuntimeError(f"{name} did not start")
        self.port = int(found.group(1))

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def server_commands(base: Path) -> list[tuple[str, list[str], dict[str, str]]]:
    """``(name, command, environment)`` of each server."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    serve = [sys.executable, "-m", "iii_core.cli", "serve", "--port", "0"]
    return [
        ("this", [*serve, "--no-access-log"], {**env, "PYTHONPATH": str(ROOT / "src")}),
        ("main", serve, {**env, "PYTHONPATH": str(base / "src")}),
        (
            "bare",
            [sys.executable, "-m", "bench.http_load", "--bare"],
            {**env, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"},
        ),
    ]


def start_servers(base: Path) -> list[Server]:
    return [Server(name, command, env) for name, command, env in server_commands(base)]


# -- instructions per request (callgrind: the same count whatever else the machine does) ------

_COLLECTED = re.compile(rb"Collected : (\d+)")
H11_CYCLE = """
import sys, h11
from bench.http_load import request_bytes
request = request_bytes(0)
headers = [(b"content-type", b"application/json"), (b"content-length", b"20")]
connection = h11.Connection(h11.SERVER)
for _ in range(int(sys.argv[1])):
    connection.receive_data(request)
    for _ in range(4):  # Request, Data, EndOfMessage, NEED_DATA
        connection.next_event()
    connection.send(h11.Response(status_code=200, headers=headers, reason=b"OK"))
    connection.send(h11.Data(data=b"x" * 20))
    connection.send(h11.EndOfMessage())
    connection.start_next_cycle()
"""


def _callgrind(command: list[str], env: dict[str, str], work: Callable[[int], None]) -> int:
    """User-space instructions of ``command`` run under callgrind while ``work(port)`` runs
    (port 0 when the command serves nothing)."""
    process = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    assert process.stdout is not None
    if work is not _no_work:
        found = _LISTENING.search(process.stdout.readline())
        if found is None:
            process.kill()
            raise RuntimeError(f"{command} did not start under valgrind")
        work(int(found.group(1)))
        process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=900)
    counted = _COLLECTED.search(err)
    if counted is None:
        raise RuntimeError(f"callgrind counted nothing: {err[-500:]!r}")
    return int(counted.group(1))


def _no_work(port: int) -> None:
    pass


async def fixed_load(port: int, clients: int, requests: int) -> None:
    """``requests`` answered requests in all, from ``clients`` clients, one at a time each."""
    loop = asyncio.get_running_loop()
    protocols = []
    for number in range(clients):
        done: asyncio.Future[None] = loop.create_future()
        client = Client(request_bytes(number), done, limit=requests // clients)
        await loop.create_connection(lambda c=client: c, "127.0.0.1", port)  # type: ignore[misc]
        protocols.append(client)
    await asyncio.wait_for(asyncio.gather(*(p.done for p in protocols)), 900)
    for client in protocols:
        assert client.transport is not None
        client.transport.close()


def instructions_per_request(base: Path, requests: int, clients: int) -> dict[str, float]:
    """Each server's user-space instructions per answered request (the difference between a
    run of ``2 * requests`` and one of ``requests``, so that start-up and shutdown cancel out),
    and h11's own request/response cycle alone (``h11``), counted the same way."""
    counts: dict[str, float] = {}

    def load_of(total: int) -> Callable[[int], None]:
        return lambda port: asyncio.run(fixed_load(port, clients, total))

    for name, command, env in server_commands(base):
        runs = [_callgrind(command, env, load_of(n)) for n in (requests, 2 * requests)]
        counts[name] = (runs[1] - runs[0]) / requests
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    cycles = [
        _callgrind([sys.executable, "-c", H11_CYCLE, str(n)], env, _no_work)
        for n in (requests, 2 * requests)
    ]
    counts["h11"] = (cycles[1] - cycles[0]) / requests
    return counts


# -- the clients ------------------------------------------------------------------------------


class Client(asyncio.Protocol):
    """Sends its request, waits for the whole answer, sends it again, until told to stop."""

    def __init__(
        self, request: bytes, done: asyncio.Future[None], *, limit: int | None = None
    ) -> None:
        self.request = request
        self.done = done
        self.limit = limit  # stop after this many answers
        self.buffer = b""
        self.answered = 0
        self.running = True
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[: end + 2].lower()
        if not head.startswith(b"http/1.1 200"):
            raise RuntimeError(f"unexpected answer {self.buffer[:200]!r}")
        start = head.index(b"content-length:") + 15
        length = int(head[start : head.index(b"\r\n", start)])
        if len(self.buffer) < end + 4 + length:
            return
        self.buffer = self.buffer[end + 4 + length :]
        self.answered += 1
        assert self.transport is not None
        if self.limit is not None and self.answered >= self.limit:
            self.running = False
        if self.running:
            self.transport.write(self.request)
        elif not self.done.done():
            self.done.set_result(None)


async def load(port: int, clients: int, seconds: float) -> int:
    """Requests answered in ``seconds`` by ``clients`` concurrent clients."""
    loop = asyncio.get_running_loop()
    protocols = []
    for number in range(clients):
        done: asyncio.Future[None] = loop.create_future()
        client = Client(request_bytes(number), done)
        await loop.create_connection(lambda c=client: c, "127.0.0.1", port)  # type: ignore[misc]
        protocols.append(client)
    await asyncio.sleep(0.2)  # warm up
    before = sum(p.answered for p in protocols)
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    answered = sum(p.answered for p in protocols) - before
    took = time.perf_counter() - started
    for client in protocols:
        client.running = False
    await asyncio.wait_for(asyncio.gather(*(p.done for p in protocols)), 30)
    for client in protocols:
        assert client.transport is not None
        client.transport.close()
    return round(answered / took * seconds)


@dataclass
class Cell:
    rates: list[float] = field(default_factory=list)
    cpu_per_request_us: list[float] = field(default_factory=list)


def bench(
    servers: list[Server], counts: list[int], seconds: float, rounds: int
) -> dict[tuple[str, int], Cell]:
    cells: dict[tuple[str, int], Cell] = {}
    for _ in range(rounds):
        for clients in counts:
            for server in servers:
                cpu = server.cpu_seconds()
                answered = asyncio.run(load(server.port, clients, seconds))
                cell = cells.setdefault((server.name, clients), Cell())
                cell.rates.append(answered / seconds)
                cell.cpu_per_request_us.append((server.cpu_seconds() - cpu) / answered * 1e6)
    return cells


def report(
    cells: dict[tuple[str, int], Cell],
    counts: list[int],
    *,
    command: str,
    load_before: float,
    seconds: float,
    rounds: int,
    instructions: dict[str, float] | None = None,
    instruction_requests: int = 0,
) -> str:
    def rate(name: str, clients: int) -> float:
        return statistics.median(cells[(name, clients)].rates)

    def cpu(name: str, clients: int) -> float:
        return statistics.median(cells[(name, clients)].cpu_per_request_us)

    lines = [
        "## HTTP write path: `POST /call/stream::update`",
        "",
        f"Reproduce with `{command}`.",
        "",
        f"- {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        f"- load average before the run (other jobs on the machine): {load_before:.2f}",
        f"- Python {platform.python_version()} ({platform.python_implementation()})",
        f"- {rounds} interleaved rounds of {seconds:g} s per server and client count; medians",
        "",
        "| clients | this: requests/s | main (`236c459`): requests/s | this / main "
        "| this: CPU per request | main: CPU per request | bare asyncio: CPU per request "
        "| this / bare |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for clients in counts:
        lines.append(
            f"| {clients} | {rate('this', clients):,.0f} | {rate('main', clients):,.0f} "
            f"| {rate('this', clients) / rate('main', clients):.2f}x "
            f"| {cpu('this', clients):.0f} µs | {cpu('main', clients):.0f} µs "
            f"| {cpu('bare', clients):.0f} µs "
            f"| {cpu('this', clients) / cpu('bare', clients):.2f}x |"
        )
    if instructions:
        this, main, bare, h11 = (instructions[k] for k in ("this", "main", "bare", "h11"))
        lines += [
            "",
            f"User-space instructions per request (callgrind; {instruction_requests:,} requests "
            "from 8 clients, counted as the difference between a run of twice as many and this "
            "one, so start-up cancels out; the same figures whatever else the machine runs):",
            "",
            "| this | main (`236c459`) | bare asyncio | h11's request/response cycle alone "
            "| this / main | this / bare |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {this:,.0f} | {main:,.0f} | {bare:,.0f} | {h11:,.0f} | {this / main:.2f}x "
            f"| {this / bare:.2f}x |",
        ]
    lines += [
        "",
        "Notes:",
        "- every server runs over the embedded `MemoryStore`, in a process of its own; the "
        "clients share this benchmark's process; one machine, loopback.",
        "- bare asyncio: the same store call behind a hand-found `Content-Length` and no "
        "checks at all: the floor of a Python server on this loop.",
        "- `this` runs with `--no-access-log` (the access log is on by default and costs a "
        "formatted line per request).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", default="1,8,64")
    parser.add_argument("--base", type=Path, help=f"a checkout of {BASE_COMMIT} to reuse")
    parser.add_argument("--record", action="store_true", help=f"write {RESULTS.name}")
    parser.add_argument(
        "--instructions",
        type=int,
        default=0,
        metavar="N",
        help="also count each server's instructions per request under callgrind, over N and "
        "2N requests (slow: minutes)",
    )
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare:
        run_bare_server()
        return 0
    counts = [int(n) for n in args.clients.split(",")]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        base = args.base
        if base is None:
            base = Path(tmp) / "base"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(base), BASE_COMMIT],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
        servers = start_servers(base)
        try:
            cells = bench(servers, counts, args.seconds, args.rounds)
            for server in servers:
                server.stop()
            servers = []
            instructions = (
                instructions_per_request(base, args.instructions, 8) if args.instructions else None
            )
        finally:
            for server in servers:
                server.stop()
            if args.base is None:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=True
                )
    given = [arg for arg in (sys.argv[1:] if argv is None else argv) if arg != "--record"]
    text = report(
        cells,
        counts,
        command=" ".join(["python -m bench.http_load", *given]),
        load_before=load_before,
        seconds=args.seconds,
        rounds=args.rounds,
        instructions=instructions,
        instruction_requests=args.instructions,
    )
    print(text)
    if args.record:
        kept = RESULTS.read_text(encoding="utf-8").partition(MARKER)[0] if RESULTS.exists() else ""
        RESULTS.write_text(f"{kept.rstrip()}\n\n{MARKER}\n{text}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
