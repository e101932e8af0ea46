"""Faults, caused for real, on every store they apply to: poison messages on the events channel,
a dropped pub/sub connection (``CLIENT KILL`` and Redis's own output-buffer limit), values nested
1,000 and 100,000 deep through every entry point, foreign data in Redis, a Redis that is down
when ``iii-core serve`` starts, handlers that mutate events, ``max_value_bytes <= 0``, a full
disk and a second process on a durable store."""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import msgspec
import pytest
import redis

from iii_core.backends import ChangeEvent, MemoryStore, Store
from iii_core.store import StoreCallError
from iii_core.stream import StreamChangeEvent, StreamGetInput, StreamSetInput
from tests.backends.test_durable_log_faults import small_disk
from tests.loopback import free_port
from tests.redis_server import RedisServer

__all__ = ["small_disk"]  # the 256 KiB tmpfs fixture, shared with the log's own fault tests

ITEM = {"stream_name": "chat", "group_id": "room", "item_id": "m1"}
CHANNEL = "iii-core:events"


def nested(depth: int) -> Any:
    """A JSON value ``depth`` levels deep (arrays and objects alternating), built without
    recursion."""
    value: Any = []
    for level in range(depth - 1):
        value = [value] if level % 2 else {"k": value}
    return value


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# -- events never stop ---------------------------------------------------------------------------


POISON = [
    b"[" * 100_000,
    b"{" * 100_000,
    b"not json at all",
    b"\xff\xfe\x00",
    b"[1, 2, 3]",
    b'{"type": "stream"}',
    b'{"type": ["unhashable"]}',
    b'{"type": "state", "event_type": "state:nope", "scope": 1}',
    b"null",
]


def test_the_listener_survives_any_message_and_logs_once(
    shared_store: Store, raw: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[ChangeEvent] = []
    shared_store.watch(seen.append)
    with caplog.at_level(logging.WARNING, logger="iii_core.backends"):
        for message in POISON:
            raw.publish(CHANNEL, message)
        shared_store.call("stream::set", {**ITEM, "data": {"n": 1}})
        shared_store.sync_events()
    assert [e.event.data for e in seen if isinstance(e, StreamChangeEvent)] == [{"n": 1}]
    reports = [r for r in caplog.records if "ignored a message" in r.getMessage()]
    assert len(reports) == 1  # rate-limited: one report for the burst


def drop_pubsub_by_client_kill(raw: redis.Redis, store: Store) -> None:
    raw.client_kill_filter(_type="pubsub")


def drop_pubsub_by_output_buffer(raw: redis.Redis, store: Store) -> None:
    # Redis disconnects a subscriber whose unsent output passes the hard limit: one event
    # carrying a 2 MB value does it with a 256 KB limit.
    store.call("state::set", {"scope": "big", "key": "k", "value": "x" * 2_000_000})


@pytest.mark.parametrize(
    "drop", [drop_pubsub_by_client_kill, drop_pubsub_by_output_buffer], ids=["kill", "buffer"]
)
def test_a_dropped_pubsub_connection_reconnects_and_signals_resync(
    shared_store: Store, raw: redis.Redis, drop: Callable[[redis.Redis, Store], None]
) -> None:
    seen: list[ChangeEvent] = []
    resyncs: list[int] = []
    shared_store.watch(seen.append, on_resync=lambda: resyncs.append(1))
    shared_store.call("stream::set", {**ITEM, "data": 0})
    shared_store.sync_events()
    limits: Any = raw.config_get("client-output-buffer-limit")["client-output-buffer-limit"]
    raw.config_set("client-output-buffer-limit", "pubsub 256kb 128kb 60")
    try:
        drop(raw, shared_store)
        wait_for(lambda: len(resyncs) == 1, "the resync signal")
    finally:
        raw.config_set("client-output-buffer-limit", limits)
    shared_store.call("stream::set", {**ITEM, "data": 1})
    shared_store.sync_events()
    data = [e.event.data for e in seen if isinstance(e, StreamChangeEvent)]
    assert data[0] == 0
    assert data[-1] == 1
    assert resyncs == [1]


# -- depth bound through every entry point -----------------------------------------------------

TOO_DEEP = "Failed to deserialize input for stream::set: recursion limit exceeded"


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_a_deep_value_is_refused_by_every_store_and_events_go_on(store: Store, depth: int) -> None:
    seen: list[ChangeEvent] = []
    store.watch(seen.append)
    for attempt in (
        lambda: store.call("stream::set", {**ITEM, "data": nested(depth)}),
        lambda: store.stream_set(StreamSetInput(**ITEM, data=nested(depth))),
        lambda: store.call(
            "stream::update",
            {**ITEM, "ops": [{"type": "set", "path": "a", "value": nested(depth)}]},
        ),
    ):
        with pytest.raises(StoreCallError) as raised:
            attempt()
        assert raised.value.code == "deserialization_error"
        assert raised.value.message.endswith("recursion limit exceeded")
    assert store.call("stream::get", ITEM) is None
    deepest = nested(126)  # the payload object is level 1, as serde_json counts
    store.call("stream::set", {**ITEM, "data": deepest})
    store.sync_events()
    assert msgspec.json.encode(store.call("stream::get", ITEM)) == msgspec.json.encode(deepest)
    assert len(seen) == 1


def nested_objects(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = {"a": value}
    return value


def depth_of(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            stack.extend(
                (child, level + 1) for child in (node.values() if isinstance(node, dict) else node)
            )
    return deepest


def test_a_value_an_update_made_deeper_than_a_request_reads_back(store: Store) -> None:
    # An append at a 32-segment path of a value 120 deep stores a value 153 deep: deeper than
    # any request may be (serde_json's 128), so the stores' readers must not apply that bound.
    store.call("stream::set", {**ITEM, "data": {}})
    path = ["a"] * 31 + ["l"]
    answer = store.call(
        "stream::update",
        {**ITEM, "ops": [{"type": "append", "path": path, "value": nested_objects(120)}]},
    )
    assert "errors" not in answer
    assert depth_of(answer["new_value"]) == 153
    assert depth_of(store.call("stream::get", ITEM)) == 153
    assert depth_of(store.call("stream::list", {"stream_name": "chat", "group_id": "room"})) == 154


def test_a_log_holding_a_value_deeper_than_a_request_reopens(tmp_path: Path) -> None:
    log = tmp_path / "store.log"
    with MemoryStore(log) as store:
        store.call("stream::set", {**ITEM, "data": {}})
        store.call(
            "stream::update",
            {
                **ITEM,
                "ops": [
                    {"type": "append", "path": ["a"] * 31 + ["l"], "value": nested_objects(120)}
                ],
            },
        )
        expected = store.call("stream::get", ITEM)
    with MemoryStore(log) as reopened:
        assert reopened.call("stream::get", ITEM) == expected


def call_lines(args: list[str], lines: list[bytes]) -> list[Any]:
    done = subprocess.run(
        [sys.executable, "-m", "iii_core.cli", "call", *args],
        input=b"".join(line + b"\n" for line in lines),
        capture_output=True,
        timeout=120,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def deep_line(depth: int) -> bytes:
    prefix = b'{"function_id":"stream::set","payload":{"stream_name":"chat","group_id":"room",'
    return prefix + b'"item_id":"m1","data":' + b"[" * depth + b"]" * depth + b"}}"


@pytest.mark.parametrize("where", ["data", "redis"])
def test_iii_core_call_refuses_deep_values_and_goes_on(
    where: str, tmp_path: Path, redis_server: RedisServer
) -> None:
    redis_server.flush()
    args = (
        ["--data", str(tmp_path / "store.log")]
        if where == "data"
        else ["--redis", redis_server.url]
    )
    get = json.dumps({"function_id": "stream::get", "payload": ITEM}).encode()
    out = call_lines(args, [deep_line(200), deep_line(1_000), deep_line(100_000), get])
    assert out[0] == {"error": {"code": "deserialization_error", "message": TOO_DEEP}}
    for answer in out[1:3]:
        assert answer["error"]["code"] == "deserialization_error"
        assert answer["error"]["message"].endswith("recursion limit exceeded")
    assert out[3] == {"result": None}
    ok = call_lines(args, [deep_line(125), get])
    assert ok[0]["result"]["old_value"] is None
    assert ok[1]["result"] == json.loads(b"[" * 125 + b"]" * 125)


class Serve:
    """``iii-core serve --port 0 ARGS`` as a child process."""

    def __init__(self, *args: str) -> None:
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "iii_core.cli", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def wait_listening(self) -> int:
        assert self.process.stdout is not None
        found = re.search(rb"listening on 127\.0\.0\.1:(\d+)", self.process.stdout.readline())
        assert found is not None, self.errors()
        return int(found.group(1))

    def errors(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            finally:
                if self.process.poll() is None:
                    self.process.kill()
                    self.process.wait(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()
        self.stderr.close()


def post(port: int, function_id: str, body: bytes) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            "POST",
            f"/call/{function_id}",
            body=body,
            headers={"Content-Type": "application/json"},
        )
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        connection.close()


@pytest.mark.parametrize("where", ["data", "redis"])
def test_serve_refuses_deep_values_over_http_and_goes_on(
    where: str, tmp_path: Path, redis_server: RedisServer
) -> None:
    redis_server.flush()
    args = (
        ["--data", str(tmp_path / "store.log")]
        if where == "data"
        else ["--redis", redis_server.url]
    )
    server = Serve(*args)
    try:
        port = server.wait_listening()
        head = b'{"stream_name":"chat","group_id":"room","item_id":"m1","data":'
        for depth in (200, 1_000, 100_000):
            status, body = post(port, "stream::set", head + b"[" * depth + b"]" * depth + b"}")
            assert status == 400
            assert body["error"] == {"code": "deserialization_error", "message": TOO_DEEP}
        assert post(port, "stream::get", json.dumps(ITEM).encode()) == (200, {"result": None})
        status, body = post(port, "stream::set", json.dumps({**ITEM, "data": 1}).encode())
        assert status == 200
    finally:
        server.stop()


# -- bad stored data -------------------------------------------------------------------------------


def test_foreign_non_json_data_is_an_error_naming_the_item(
    shared_store: Store, raw: redis.Redis
) -> None:
    raw.hset("stream:chat:room", mapping={"m1": b"\xffnot json", "m2": b"2"})
    for function_id, payload in (
        ("stream::get", ITEM),
        ("stream::list", {"stream_name": "chat", "group_id": "room"}),
        ("stream::update", {**ITEM, "ops": [{"type": "set", "path": "a", "value": 1}]}),
        ("stream::delete", ITEM),
    ):
        with pytest.raises(StoreCallError) as raised:
            shared_store.call(function_id, payload)
        assert raised.value.code == "STORE_BAD_DATA"
        assert "'m1' in 'stream:chat:room'" in raised.value.message
    assert raw.hget("stream:chat:room", "m1") == b"\xffnot json"
    assert shared_store.call("stream::get", {**ITEM, "item_id": "m2"}) == 2


def test_a_key_of_the_wrong_type_is_not_reported_as_unavailable(
    shared_store: Store, raw: redis.Redis
) -> None:
    raw.set("stream:chat:room", b"a string")
    raw.rpush("state:s", b"a list")
    for function_id, payload, key in (
        ("stream::get", ITEM, "stream:chat:room"),
        ("stream::set", {**ITEM, "data": 1}, "stream:chat:room"),
        ("stream::list", {"stream_name": "chat", "group_id": "room"}, "stream:chat:room"),
        ("state::delete", {"scope": "s", "key": "k"}, "state:s"),
    ):
        with pytest.raises(StoreCallError) as raised:
            shared_store.call(function_id, payload)
        assert raised.value.code == "STORE_BAD_DATA"
        assert repr(key) in raised.value.message
    assert raw.get("stream:chat:room") == b"a string"


def test_a_key_that_changed_type_after_this_store_saw_it_is_bad_data(
    shared_store: Store, raw: redis.Redis
) -> None:
    shared_store.call("stream::set", {**ITEM, "data": 1})  # remembered: the next write is one trip
    raw.delete("stream:chat:room")
    raw.set("stream:chat:room", b"a string")
    with pytest.raises(StoreCallError) as raised:
        shared_store.call("stream::update", {**ITEM, "ops": []})
    assert raised.value.code == "STORE_BAD_DATA"
    assert "'stream:chat:room'" in raised.value.message


def test_bad_stored_data_over_the_cli_and_http(redis_server: RedisServer, raw: redis.Redis) -> None:
    redis_server.flush()
    raw.hset("stream:chat:room", "m1", b"{oops")
    get = json.dumps({"function_id": "stream::get", "payload": ITEM}).encode()
    out = call_lines(["--redis", redis_server.url], [get, get])
    assert [answer["error"]["code"] for answer in out] == ["STORE_BAD_DATA"] * 2
    server = Serve("--redis", redis_server.url)
    try:
        port = server.wait_listening()
        status, body = post(port, "stream::get", json.dumps(ITEM).encode())
        assert (status, body["error"]["code"]) == (500, "STORE_BAD_DATA")
        assert "'m1'" in body["error"]["message"]
        assert post(port, "stream::get", json.dumps({**ITEM, "item_id": "m2"}).encode()) == (
            200,
            {"result": None},
        )
    finally:
        server.stop()


# -- start-up never hangs --------------------------------------------------------------------------


def test_serve_with_redis_down_says_so_and_exits() -> None:
    started = time.monotonic()
    server = Serve("--redis", f"redis://127.0.0.1:{free_port()}/0")
    try:
        status = server.process.wait(timeout=30)
        assert time.monotonic() - started < 20
        assert status != 0
        assert "Redis is unavailable" in server.errors()
    finally:
        server.stop()


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_serve_with_redis_down_ends_on_a_signal(number: int) -> None:
    server = Serve("--redis", f"redis://127.0.0.1:{free_port()}/0")
    try:
        time.sleep(1)
        sent = time.monotonic()
        server.process.send_signal(number)
        server.process.wait(timeout=30)
        assert time.monotonic() - sent < 8
    finally:
        server.stop()


# -- nothing aliases the store; limits -------------------------------------------------------------


def test_handlers_get_their_own_copies(store: Store) -> None:
    first: list[Any] = []
    second: list[Any] = []

    def vandal(event: ChangeEvent) -> None:
        assert isinstance(event, StreamChangeEvent)
        data = cast(dict[str, Any], event.event.data)
        data["list"].append("vandal")
        first.append(data)

    store.watch(vandal)
    store.watch(lambda event: second.append(event.event.data))  # type: ignore[union-attr]
    store.call("stream::set", {**ITEM, "data": {"list": [1]}})
    store.sync_events()
    assert first == [{"list": [1, "vandal"]}]
    assert second == [{"list": [1]}]
    assert store.call("stream::get", ITEM) == {"list": [1]}
    typed = store.stream_get(StreamGetInput(**ITEM))
    typed["list"].append(2)
    assert store.call("stream::get", ITEM) == {"list": [1]}


@pytest.mark.parametrize("limit", [0, -1])
def test_a_max_value_bytes_of_zero_or_less_is_no_limit(store: Store, limit: int) -> None:
    store.max_value_bytes = limit
    value = {"big": "x" * 10_000}
    assert (
        store.call("state::set", {"scope": "s", "key": "k", "value": value})["new_value"] == value
    )
    store.max_value_bytes = 5
    with pytest.raises(StoreCallError) as raised:
        store.call("state::set", {"scope": "s", "key": "k", "value": "123456"})
    assert raised.value.code == "VALUE_TOO_LARGE"


# -- the durable memory store under faults ---------------------------------------------------------


def test_a_full_disk_refuses_the_write_and_the_store_recovers(small_disk: Path) -> None:
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * 64 * 1024)
    seen: list[ChangeEvent] = []
    with MemoryStore(small_disk / "store.log") as store:
        store.watch(seen.append)
        acknowledged = 0
        with pytest.raises(StoreCallError) as raised:
            for i in range(1_000):
                store.call("state::set", {"scope": "s", "key": f"k{i}", "value": "x" * 1000})
                acknowledged += 1
        assert raised.value.code == "STORE_WRITE_FAILED"
        assert store.call("state::get", {"scope": "s", "key": f"k{acknowledged}"}) is None
        assert len(seen) == acknowledged  # the refused write emitted nothing
        filler.unlink()
        store.call("state::set", {"scope": "s", "key": "after", "value": 1})
    with MemoryStore(small_disk / "store.log") as reopened:
        listed = reopened.call("state::list", {"scope": "s"})
        assert len(listed) == acknowledged + 1
        assert reopened.call("state::get", {"scope": "s", "key": "after"}) == 1


def test_a_second_process_cannot_open_a_durable_store(tmp_path: Path) -> None:
    log = tmp_path / "store.log"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import sys
                from iii_core.backends import MemoryStore
                store = MemoryStore(sys.argv[1])
                store.call("state::set", {"scope": "s", "key": "k", "value": 1})
                print("ready", flush=True)
                sys.stdin.readline()
                """
            ),
            str(log),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreCallError) as raised:
            MemoryStore(log)
        assert raised.value.code == "STORE_LOCKED"
        assert str(holder.pid) in raised.value.message
    finally:
        holder.communicate("done\n", timeout=30)
    with MemoryStore(log) as store:
        assert store.call("state::get", {"scope": "s", "key": "k"}) == 1
