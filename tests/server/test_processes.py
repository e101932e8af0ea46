"""``iii-core serve`` as a process: the embedded store (durable with ``--data``), and two
processes on one Redis delivering each other's writes."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.sync.client import ClientConnection, connect

from iii_core.server import Limits
from tests.redis_server import RedisServer
from tests.server.support import ServeProcess, StoreCallFailed, join, wait_until

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


def test_a_taken_port_is_reported_as_host_and_port() -> None:
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
    assert done.stderr.startswith(f"iii-core serve: cannot listen on 127.0.0.1:{port}: ")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--port", "70000"], "--port"),
        (["--port", "-1"], "--port"),
        (["--port", "http"], "--port"),
        (["--max-body-bytes", "0"], "--max-body-bytes"),
        (["--header-timeout", "soon"], "--header-timeout"),
        (["--log-level", "loud"], "--log-level"),
        (["--data", "x", "--redis", "redis://127.0.0.1:1"], "--redis"),
        (["--bogus"], "--bogus"),
    ],
)
def test_a_bad_option_is_one_line_and_status_2(options: list[str], named: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "iii_core.cli", "serve", *options],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("iii-core serve: ") and named in done.stderr
    assert done.stderr.count("\n") == 1 and done.stdout == ""


def test_help_names_the_endpoints_and_every_option() -> None:
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
        "III_CORE_TOKEN",
        *(
            f"--{field.name.replace('_', '-')}"
            for field in dataclasses.fields(Limits)
            if field.name not in ("max_buffered_bytes", "close_timeout")
        ),
        "--max-buffer",
        "--max-value-bytes",
        "--allow-origin",
        "--allow-host",
        "--token",
        "--no-access-log",
        "--log-level",
    ):
        assert text in done.stdout, text


def test_the_log_on_stderr(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    serve = ServeProcess("--redis", redis.url)
    try:
        serve.call("stream::set", {**ITEM, "data": 1})
        with connect(serve.url, open_timeout=10) as client:
            join(client, "a")
        redis.stop()
        with pytest.raises(StoreCallFailed):
            serve.call("stream::get", ITEM)
        with pytest.raises(StoreCallFailed):
            serve.call("stream::get", ITEM)
        redis.start()
        wait_until(lambda: _answers(serve), "the store to come back")
    finally:
        assert serve.stop() == 0
        redis.stop()
    lines = serve.stderr().decode().splitlines()
    text = "\n".join(lines)
    assert re.search(
        r'INFO 127\.0\.0\.1:\d+ "POST /call/stream::set HTTP/1\.1" 200 \d+ [\d.]+ms', text
    )
    assert re.search(r'INFO 127\.0\.0\.1:\d+ "GET / HTTP/1\.1" 101 0 [\d.]+ms', text)
    assert re.search(r'"WebSocket /" closed: \d+ bytes sent, \d+ received', text)
    assert sum("store unavailable" in line for line in lines) == 1  # said once, not per call
    assert sum("store available again" in line for line in lines) == 1
    assert lines[-1].endswith(
        f"stopped: 0 WebSocket connections closed, {serve_requests(text)} HTTP requests answered"
    )
    assert "Traceback" not in text


def serve_requests(text: str) -> int:
    return len(re.findall(r'" \d{3} \d+ [\d.]+ms', text)) - 1  # the upgrade is no request


def _answers(serve: ServeProcess) -> bool:
    try:
        serve.call("stream::get", ITEM)
    except StoreCallFailed:
        return False
    return True


def test_the_access_log_can_be_switched_off() -> None:
    serve = ServeProcess("--no-access-log")
    try:
        serve.call("stream::get", ITEM)
    finally:
        assert serve.stop() == 0
    [line] = serve.stderr().decode().splitlines()
    assert line.endswith("stopped: 0 WebSocket connections closed, 1 HTTP requests answered")
