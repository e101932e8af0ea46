"""Every budget, caused for real over real sockets: read timeouts, the connection cap under a low
open-file limit, the outbound budget (pongs included) and the slow-client rule, subscriptions
and names per connection, and a large body that must not stall everyone else."""

from __future__ import annotations

import contextlib
import json
import resource
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.frames import Opcode
from websockets.sync.client import connect

from iii_core.server import Limits
from tests.server.raw import RawClient
from tests.server.support import ServeProcess, ServerThread, join, wait_until
from tests.server.test_faults import Collector

GROUP = {"stream_name": "s", "group_id": "g"}


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_read_timeouts(start_server: Callable[..., ServerThread]) -> None:
    server = start_server(limits=Limits(header_timeout=0.5, body_timeout=0.5, idle_timeout=0.5))
    port = server.server.port
    started = time.monotonic()
    openings = {
        "silent": b"",
        "half a head": b"POST /call/stream::set HTTP/1.1\r\nHost: 127.0.0.1\r\n",
        "half a body": (
            b"POST /call/stream::set HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        ),
    }
    sockets = {}
    for name, opening in openings.items():
        sockets[name] = socket.create_connection(("127.0.0.1", port), timeout=20)
        sockets[name].sendall(opening)
    idle = socket.create_connection(("127.0.0.1", port), timeout=20)
    idle.sendall(b"GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    for name, sock in sockets.items():
        answer = read_all(sock)
        assert answer.startswith(b"HTTP/1.1 408 "), (name, answer[:60])
        assert b"request_timeout" in answer
        sock.close()
    idle_answer = read_all(idle)  # the answer, then the idle connection is closed quietly
    assert idle_answer.startswith(b"HTTP/1.1 200 ") and idle_answer.count(b"HTTP/1.1") == 1
    idle.close()
    assert time.monotonic() - started < 15  # a bound, not a timing assertion
    assert server.server_stats().timeouts == 4
    assert server.call("stream::list", GROUP) == []  # the half body was never run


def _limit_descriptors() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (320, hard))


def test_300_stalled_connections_under_a_low_open_file_limit() -> None:
    serve = ServeProcess("--header-timeout", "3", preexec_fn=_limit_descriptors)
    try:
        socks = []
        for _ in range(310):
            socks.append(socket.create_connection(("127.0.0.1", serve.port), timeout=30))
        refused = 0
        for sock in socks:
            answer = read_all(sock)
            status = answer[9:12]
            assert status in (b"503", b"408"), answer[:80]
            if status == b"503":
                refused += 1
                assert b"too_many_connections" in answer
            sock.close()
        # 320 descriptors, 192 kept: at most 128 at once; the rest are told so, and every
        # admitted one times out (some before the last ones connect, freeing their place).
        assert 100 <= refused <= 310 - 128
        stats = serve.stats()
        assert stats["refused_connections"] == refused
        assert stats["timeouts"] == 310 - refused
        assert serve.call("stream::list", GROUP) == []
    finally:
        assert serve.stop() == 0
    log = serve.stderr()
    assert (
        b"max connections lowered from 1000 to 128 to fit the open-file limit (ulimit -n 320)"
        in log
    )
    assert b"Traceback" not in log and len(log) < 200_000


def test_a_large_value_evicts_nobody_and_a_large_group_joins(
    start_server: Callable[..., ServerThread],
) -> None:
    server = start_server()  # the default budget: 1 MiB
    with contextlib.ExitStack() as stack:
        clients = [
            stack.enter_context(connect(server.url, open_timeout=10, max_size=None))
            for _ in range(3)
        ]
        for number, client in enumerate(clients):
            join(client, f"sub-{number}")
        collectors = [Collector(client) for client in clients]
        big = "x" * 1_100_000
        server.call("stream::set", {**GROUP, "item_id": "big", "data": big})
        server.call("stream::set", {**GROUP, "item_id": "small", "data": 1})
        for collector in collectors:
            wait_until(lambda c=collector: len(c.data()) == 2, "both writes")  # type: ignore[misc]
            assert collector.data() == [big, 1]
        server.call("stream::delete", {**GROUP, "item_id": "big"})
        item = {"text": "y" * 1000}
        for n in range(1200):
            server.call("stream::set", {**GROUP, "item_id": f"i{n:04}", "data": {**item, "n": n}})
        with connect(server.url, open_timeout=10, max_size=None) as late:
            sync = join(late, "late")
            assert sync["event"]["type"] == "sync"
            assert len(sync["event"]["data"]) == 1201
            assert len(json.dumps(sync)) > 1 << 20  # over the budget, delivered whole
        stats = server.server_stats()
        assert stats.slow_disconnects == 0 and stats.messages_dropped == 0


def test_pongs_count_against_the_outbound_budget(
    start_server: Callable[..., ServerThread],
) -> None:
    server = start_server(limits=Limits(max_buffered_bytes=64 * 1024))
    flooder = RawClient(server.server.port, receive_buffer=4096)
    payload = b"p" * 125
    sent = 0
    try:
        while server.server_stats().slow_disconnects == 0:
            assert sent < 200_000, "the client that never reads its pongs was never dropped"
            for _ in range(100):
                flooder.send(payload, Opcode.PING)
            sent += 100
    except (BrokenPipeError, ConnectionResetError):
        pass  # dropped while still sending
    wait_until(lambda: server.server_stats().slow_disconnects == 1, "the drop")
    flooder.close()
    wait_until(lambda: server.server_stats().connections == 0, "the connection to go")
    with connect(server.url, open_timeout=10) as client:
        assert join(client, "after")["event"]["type"] == "sync"


@pytest.mark.parametrize(
    ("frames", "reason"),
    [
        (
            [("a", "s", "g"), ("b", "s", "g"), ("c", "s", "g"), ("d", "s", "g")],
            "over 3 subscriptions on one connection",
        ),
        ([("a" * 17, "s", "g")], "a name is longer than 16 bytes"),
        ([("a", "s" * 17, "g")], "a name is longer than 16 bytes"),
    ],
)
def test_subscription_and_name_limits_close_the_connection(
    start_server: Callable[..., ServerThread],
    frames: list[tuple[str, str, str]],
    reason: str,
) -> None:
    server = start_server(limits=Limits(max_subscriptions=3, max_name_bytes=16))
    with connect(server.url, open_timeout=10) as client:
        for subscription_id, stream, group in frames[:-1]:
            assert join(client, subscription_id, stream=stream, group=group)["event"]["type"] == (
                "sync"
            )
        subscription_id, stream, group = frames[-1]
        client.send(
            json.dumps(
                {
                    "type": "join",
                    "data": {
                        "subscriptionId": subscription_id,
                        "streamName": stream,
                        "groupId": group,
                    },
                }
            )
        )
        with pytest.raises(ConnectionClosed) as closed:
            client.recv(timeout=20)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, reason)
    wait_until(lambda: server.server_stats().subscriptions == 0, "the leave hooks")
    assert server.server_stats().frames_refused == 1


def test_a_16_mib_body_does_not_stall_other_connections() -> None:
    serve = ServeProcess("--max-body-bytes", str(17 << 20))
    head = b'{"stream_name":"s","group_id":"g","item_id":"big","data":'
    bodies = [
        (head + b"[" + b",".join([b"{}"] * ((16 << 20) // 3)) + b"]}", 413),  # 5.6 M objects
        (head + b'"' + b"x" * (16 << 20) + b'"}', 200),  # one value
        (head + b"[" + b",".join([b"{}"] * 120_000) + b"]}", 200),  # just within the values
    ]
    waits: list[float] = []
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            started = time.monotonic()
            serve.stats()
            waits.append(time.monotonic() - started)
            time.sleep(0.01)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        for body, status in bodies:
            answer: Any = serve.http.post(
                "/call/stream::set",
                content=body,
                headers={"content-type": "application/json"},
                timeout=120,
            )
            assert answer.status_code == status
            if status == 413:
                assert answer.json()["error"] == {
                    "code": "body_too_large",
                    "message": "the request body has over 250000 JSON values, the server's "
                    "limit (max_body_values)",
                }
        done.set()
        poller.join(timeout=30)
        # A generous bound: before the values limit, /stats waited 8 s for the first body.
        assert len(waits) > 3 and max(waits) < 2.0, max(waits)
    finally:
        done.set()
        assert serve.stop() == 0
