"""`iii-core call` end to end: the embedded store, a durable one across runs, and Redis."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.redis_server import RedisServer

COMMAND = [sys.executable, "-m", "iii_core.cli", "call"]
ITEM = {"stream_name": "chat", "group_id": "room", "item_id": "m1"}


def run(args: list[str], calls: list[Any], extra_lines: tuple[bytes, ...] = ()) -> list[Any]:
    stdin = b"".join(json.dumps(c).encode() + b"\n" for c in calls) + b"".join(extra_lines)
    done = subprocess.run(
        [*COMMAND, *args], input=stdin, capture_output=True, timeout=120, check=True
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_calls_and_errors_in_order() -> None:
    out = run(
        [],
        [
            {"function_id": "stream::set", "payload": {**ITEM, "data": {"n": 1}}},
            {
                "function_id": "stream::update",
                "payload": {**ITEM, "ops": [{"type": "increment", "path": "n", "by": 2}]},
            },
            {
                "function_id": "stream::update",
                "payload": {**ITEM, "ops": [{"type": "increment", "path": "n", "by": 0.5}]},
            },
            {"function_id": "stream::get", "payload": ITEM},
            {"function_id": "nope::x", "payload": {}},
            {"payload": {}},
            {"function_id": "state::delete", "payload": {"scope": "s", "key": "k"}},
            {"function_id": "stream::list_all", "payload": {}},
        ],
        (b"{broken\n",),
    )
    assert out[0] == {"result": {"old_value": None, "new_value": {"n": 1}}}
    assert out[1] == {"result": {"old_value": {"n": 1}, "new_value": {"n": 3}}}
    assert out[2]["error"]["code"] == "deserialization_error"
    assert out[2]["error"]["message"].startswith("Failed to deserialize input for stream::update:")
    assert out[3] == {"result": {"n": 3}}
    assert out[4]["error"]["code"] == "function_not_found"
    assert out[5]["error"]["code"] == "deserialization_error"
    assert out[6] == {"result": None}
    assert out[7] == {"result": {"stream": [{"id": "chat", "groups": ["room"]}], "count": 1}}
    assert out[8]["error"]["code"] == "invalid_json"


def test_durable_data_file_survives_runs(tmp_path: Path) -> None:
    data = tmp_path / "store.log"
    run(
        ["--data", str(data)],
        [{"function_id": "state::set", "payload": {"scope": "s", "key": "k", "value": [1]}}],
    )
    out = run(
        ["--data", str(data)],
        [
            {
                "function_id": "state::update",
                "payload": {"scope": "s", "key": "k", "ops": [{"type": "append", "value": 2}]},
            },
            {"function_id": "state::list", "payload": {"scope": "s"}},
        ],
    )
    assert out == [
        {"result": {"old_value": [1], "new_value": [1, 2]}},
        {"result": [[1, 2]]},
    ]


def test_redis_store_is_shared_between_runs(redis_server: RedisServer) -> None:
    redis_server.flush()
    run(
        ["--redis", redis_server.url],
        [{"function_id": "stream::set", "payload": {**ITEM, "data": 2**64 - 1}}],
    )
    out = run(["--redis", redis_server.url], [{"function_id": "stream::get", "payload": ITEM}])
    assert out == [{"result": 2**64 - 1}]
