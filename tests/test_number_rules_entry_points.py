"""serde_json's number rules at every JSON entry point: ``-0`` is the float ``-0.0``, an integer
literal beyond u64 is a float, and a ``by`` read as a float is refused as the engine refuses it.

Each entry point is driven with raw JSON text, as a client (or the engine, for stored values)
writes it; every answer is read back with the standard library, which keeps ``1`` and ``1.0``
apart. Every entry point reads JSON text through ``iii_core._json.loads``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from iii_core import apply_update_ops_json
from iii_core.backends import MemoryStore
from iii_core.backends.redis import RedisStore
from iii_core.update import InvalidOps
from tests.backends.async_facade import SyncFacade
from tests.redis_server import RedisServer
from tests.server.support import ServerThread

MINUS_ZERO = b'{"n":-0}'
BEYOND_U64 = b'{"n":18446744073709551616}'
INCREMENT = b'[{"type":"increment","path":"n","by":1}]'
BY_MINUS_ZERO = b'[{"type":"increment","path":"n","by":-0}]'
BY_BEYOND_U64 = b'[{"type":"increment","path":"n","by":18446744073709551616}]'
REFUSED_MINUS_ZERO = "invalid type: floating point `-0.0`, expected i64"
REFUSED_BEYOND_U64 = "invalid type: floating point `18446744073709552000.0`, expected i64"
ITEM = b'"stream_name":"s","group_id":"g","item_id":"i"'


def is_float(value: Any, expected: float) -> bool:
    return (
        type(value) is float
        and value == expected
        and math.copysign(1, value) == math.copysign(1, expected)
    )


# --- apply_update_ops_json and `iii-core apply` (this package's own entry points) ------------


def apply_in_process(old: bytes, ops: bytes) -> Any:
    try:
        new, errors = apply_update_ops_json(old, ops)
    except InvalidOps as exc:
        return {"error": exc.reason}
    assert errors == []
    return {"new_value": new}


def apply_by_cli(old: bytes, ops: bytes) -> Any:
    line = b'{"old":' + old + b',"ops":' + ops + b"}\n"
    done = subprocess.run(
        [sys.executable, "-m", "iii_core.cli", "apply"],
        input=line,
        capture_output=True,
        timeout=120,
        check=True,
    )
    answer = json.loads(done.stdout)
    if "error" in answer:
        return {"error": answer["error"]["message"].split(": ", 1)[1]}
    return {"new_value": answer["new_value"]}


@pytest.mark.parametrize("apply", [apply_in_process, apply_by_cli], ids=["python", "cli"])
def test_apply_reads_minus_zero_as_a_float(apply: Callable[[bytes, bytes], Any]) -> None:
    assert is_float(apply(MINUS_ZERO, INCREMENT)["new_value"]["n"], 1.0)


@pytest.mark.parametrize("apply", [apply_in_process, apply_by_cli], ids=["python", "cli"])
def test_apply_reads_integers_beyond_u64_as_floats(apply: Callable[[bytes, bytes], Any]) -> None:
    assert is_float(apply(BEYOND_U64, b"[]")["new_value"]["n"], 2.0**64)
    assert is_float(apply(BEYOND_U64, INCREMENT)["new_value"]["n"], 2.0**64 + 1)


@pytest.mark.parametrize("apply", [apply_in_process, apply_by_cli], ids=["python", "cli"])
@pytest.mark.parametrize(
    ("ops", "reason"),
    [(BY_MINUS_ZERO, REFUSED_MINUS_ZERO), (BY_BEYOND_U64, REFUSED_BEYOND_U64)],
    ids=["by=-0", "by>u64"],
)
def test_apply_refuses_a_by_read_as_a_float(
    apply: Callable[[bytes, bytes], Any], ops: bytes, reason: str
) -> None:
    assert apply(b"{}", ops) == {"error": reason}


# --- `iii-core call` and `POST /call` (the store call's JSON readers) ------------------------

Caller = Callable[[list[tuple[str, bytes]]], list[Any]]


def call_by_cli(calls: list[tuple[str, bytes]]) -> list[Any]:
    lines = b"".join(
        b'{"function_id":"' + name.encode() + b'","payload":' + payload + b"}\n"
        for name, payload in calls
    )
    done = subprocess.run(
        [sys.executable, "-m", "iii_core.cli", "call"],
        input=lines,
        capture_output=True,
        timeout=120,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.fixture
def call_by_http() -> Iterator[Caller]:
    server = ServerThread(MemoryStore)

    def call(calls: list[tuple[str, bytes]]) -> list[Any]:
        answers = []
        for name, payload in calls:
            answer = server.http.post(
                f"/call/{name}", content=payload, headers={"Content-Type": "application/json"}
            )
            answers.append(json.loads(answer.content))
        return answers

    yield call
    server.stop()


@pytest.fixture(params=["cli", "http"])
def caller(request: pytest.FixtureRequest) -> Caller:
    if request.param == "cli":
        return call_by_cli
    http: Caller = request.getfixturevalue("call_by_http")
    return http


def test_call_reads_minus_zero_as_a_float(caller: Caller) -> None:
    answers = caller(
        [
            ("stream::set", b"{" + ITEM + b',"data":' + MINUS_ZERO + b"}"),
            ("stream::update", b"{" + ITEM + b',"ops":' + INCREMENT + b"}"),
        ]
    )
    assert is_float(answers[0]["result"]["new_value"]["n"], -0.0)
    assert is_float(answers[1]["result"]["new_value"]["n"], 1.0)


def test_call_reads_integers_beyond_u64_as_floats(caller: Caller) -> None:
    answers = caller([("stream::set", b"{" + ITEM + b',"data":' + BEYOND_U64 + b"}")])
    assert is_float(answers[0]["result"]["new_value"]["n"], 2.0**64)


@pytest.mark.parametrize(
    ("ops", "reason"),
    [
        (BY_MINUS_ZERO, REFUSED_MINUS_ZERO),
        (BY_BEYOND_U64, REFUSED_BEYOND_U64),
    ],
    ids=["by=-0", "by>u64"],
)
def test_call_refuses_a_by_read_as_a_float(caller: Caller, ops: bytes, reason: str) -> None:
    [answer] = caller([("stream::update", b"{" + ITEM + b',"ops":' + ops + b"}")])
    assert answer["error"]["code"] == "deserialization_error"
    assert answer["error"]["message"] == (
        f"Failed to deserialize input for stream::update: {reason}"
    )


# --- the stores' readers: values the engine (or another process) stored as JSON text ---------


Reader = Callable[[bytes], Callable[[str, Any], Any]]


@pytest.fixture(params=["log", "redis", "redis-async"])
def reader(
    request: pytest.FixtureRequest, tmp_path: Path, redis_server: RedisServer
) -> Iterator[Reader]:
    """``reader(stored)``: the ``call`` of a store opened over ``stored``, written as JSON text
    at item ``s/g/i`` by someone else (a log line, or a Redis hash field)."""
    opened: list[MemoryStore | RedisStore | SyncFacade] = []

    def open_over(stored: bytes) -> Callable[[str, Any], Any]:
        store: MemoryStore | RedisStore | SyncFacade
        if request.param == "log":
            log = tmp_path / "store.log"
            log.write_bytes(b'["stream:s:g","i",' + stored + b"]\n")
            store = MemoryStore(log)
        else:
            redis_server.flush()
            client = redis.Redis.from_url(redis_server.url)
            client.hset("stream:s:g", "i", stored)
            client.close()
            if request.param == "redis":
                store = RedisStore.from_url(redis_server.url)
            else:
                store = SyncFacade(redis_server.url)  # AsyncRedisStore on its own loop
        opened.append(store)
        call: Callable[[str, Any], Any] = store.call
        return call

    yield open_over
    for store in opened:
        store.close()


KEY = {"stream_name": "s", "group_id": "g", "item_id": "i"}


def test_stored_minus_zero_is_a_float(
    reader: Reader,
) -> None:
    call = reader(MINUS_ZERO)
    assert is_float(call("stream::get", KEY)["n"], -0.0)


def test_stored_minus_zero_increments_to_a_float(
    reader: Reader,
) -> None:
    call = reader(MINUS_ZERO)
    result = call("stream::update", {**KEY, "ops": [{"type": "increment", "path": "n", "by": 1}]})
    assert is_float(result["new_value"]["n"], 1.0)


def test_stored_integers_beyond_u64_are_floats(
    reader: Reader,
) -> None:
    call = reader(BEYOND_U64)
    assert is_float(call("stream::get", KEY)["n"], 2.0**64)
