"""``iii-core serve`` as a process: the embedded store (durable with ``--data``), and two
processes on one Redis delivering each other's writes."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from websockets.sync.client import ClientConnection, connect

from tests.redis_server import RedisServer
from tests.server.support import ServeProcess, join

ITEM = {"stream_name": "s", "group_id": "g", "item_id": "i"}


@contextlib.contextmanager
def join_group(url: str, sub: str) -> Iterator[ClientConnection]:
    with connect(url, open_timeout=10) as client:
        assert join(client, sub)["event"]["type"] == "sync"
        yield client


def test_serve_with_a_data_file_keeps_writes_across_restarts(tmp_path: Path) -> None:
    data = tmp_path / "store.log"
    first = ServeProcess("--data", str(data))
    try:
        with join_group(first.url, "a") as client:
            first.call("stream::set", {**ITEM, "data": {"n": 1}})
            assert json.loads(client.recv(timeout=20))["event"] == {
                "type": "create",
                "data": {"n": 1},
            }
    finally:
        assert first.stop() == 0
    second = ServeProcess("--data", str(data))
    try:
        assert second.call("stream::get", ITEM) == {"n": 1}
    finally:
        assert second.stop() == 0


def test_two_processes_on_one_redis_deliver_each_others_writes(redis_server: RedisServer) -> None:
    redis_server.flush()
    one, two = ServeProcess("--redis", redis_server.url), ServeProcess("--redis", redis_server.url)
    try:
        with join_group(one.url, "on-one") as on_one, join_group(two.url, "on-two") as on_two:
            for n in range(1, 21):
                (one if n % 2 else two).call("stream::set", {**ITEM, "data": n})
            for client in (on_one, on_two):
                got = [json.loads(client.recv(timeout=20))["event"]["data"] for _ in range(20)]
                assert got == list(range(1, 21))
        assert one.call("stream::get", ITEM) == two.call("stream::get", ITEM) == 20
    finally:
        assert one.stop() == 0
        assert two.stop() == 0


def test_a_taken_port_is_reported(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "iii_core.cli", "serve", "--port", str(port)],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert "iii-core serve:" in done.stderr


def test_help_names_the_endpoints() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "iii_core.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for text in (
        "ws://HOST:PORT/",
        "POST /call/<function_id>",
        "GET /stats",
        "--redis",
        "--max-buffer",
    ):
        assert text in done.stdout
