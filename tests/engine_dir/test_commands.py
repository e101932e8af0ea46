"""``iii-core call --engine-dir`` and ``iii-core serve --engine-dir`` on an app's data: the
served store answers the 88 store scenarios over HTTP like every other store, and a real
``serve`` process keeps its writes in the engine's files across restarts."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
import pytest
from websockets.sync.client import connect

from iii_core.backends import ChangeEvent
from iii_core.backends._engine_dir_format import decode_index_file
from iii_core.backends.engine_dir import EngineDirStore
from iii_core.store import StoreCallError
from tests.server.support import ServeProcess, ServerThread, StoreCallFailed, join
from tests.store.harness import core_scenarios, load_stream_state_vectors, run_scenario

ITEM = {"stream_name": "s", "group_id": "g", "item_id": "m1"}
SCENARIOS = core_scenarios(load_stream_state_vectors())


def call_lines(data: Path, calls: list[Any]) -> list[Any]:
    stdin = b"".join(json.dumps(c).encode() + b"\n" for c in calls)
    done = subprocess.run(
        [sys.executable, "-m", "iii_core.cli", "call", "--engine-dir", str(data)],
        input=stdin,
        capture_output=True,
        timeout=120,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_call_works_on_an_app_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    out = call_lines(
        data,
        [
            {"function_id": "stream::set", "payload": {**ITEM, "data": {"n": 1}}},
            {"function_id": "state::set", "payload": {"scope": "app", "key": "k", "value": "v"}},
        ],
    )
    assert out == [
        {"result": {"old_value": None, "new_value": {"n": 1}}},
        {"result": {"old_value": None, "new_value": "v"}},
    ]
    assert decode_index_file((data / "stream_store" / "stream%3As%3Ag.bin").read_bytes()) == {
        "m1": {"n": 1}
    }
    assert decode_index_file((data / "state_store.db" / "app.bin").read_bytes()) == {"k": "v"}
    again = call_lines(data, [{"function_id": "stream::get", "payload": ITEM}])
    assert again == [{"result": {"n": 1}}]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["id"] for s in SCENARIOS])
def test_served_scenario(tmp_path: Path, scenario: Mapping[str, Any]) -> None:
    server = ServerThread(lambda: EngineDirStore(tmp_path / "data"))
    store = server.store
    assert isinstance(store, EngineDirStore)
    seen: list[ChangeEvent] = []
    store.watch(seen.append)

    def call(function_id: str, payload: Any) -> tuple[Any, list[Any]]:
        start = len(seen)
        try:
            result = server.call(function_id, payload)
        except StoreCallFailed as failed:
            raise StoreCallError(failed.error["code"], failed.error["message"]) from None
        server.sync_events()
        return result, msgspec.to_builtins(seen[start:])

    def configure(config: Mapping[str, Any]) -> None:
        store.max_value_bytes = config["max_value_bytes"]

    try:
        run_scenario(call, scenario, configure=configure, adapter="kv")
    finally:
        server.stop()


def test_serve_process_keeps_writes_in_the_engine_files(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = ServeProcess("--engine-dir", str(data))
    try:
        with connect(first.url, open_timeout=10) as client:
            assert join(client, "a")["event"]["type"] == "sync"
            first.call("stream::set", {**ITEM, "data": {"n": 1}})
            assert json.loads(client.recv(timeout=20))["event"] == {
                "type": "create",
                "data": {"n": 1},
            }
        # The file is written before the call is answered.
        assert decode_index_file((data / "stream_store" / "stream%3As%3Ag.bin").read_bytes()) == {
            "m1": {"n": 1}
        }
        # A second iii-core process on the same directory is refused, in one line.
        for command in ("serve", "call"):
            refused = subprocess.run(
                [sys.executable, "-m", "iii_core.cli", command, "--engine-dir", str(data)],
                input=b"",
                capture_output=True,
                timeout=60,
                check=False,
            )
            assert refused.returncode == 1
            assert refused.stderr.startswith(f"iii-core {command}: ".encode())
            assert b"in use by another iii-core process" in refused.stderr
            assert refused.stderr.count(b"\n") == 1
    finally:
        assert first.stop() == 0
    second = ServeProcess("--engine-dir", str(data))
    try:
        assert second.call("stream::get", ITEM) == {"n": 1}
    finally:
        assert second.stop() == 0


def test_each_workers_file_path_can_be_named(tmp_path: Path) -> None:
    # A config with its own file_path per worker: --engine-dir STREAMS_DIR:STATE_DIR.
    streams, state = tmp_path / "streams", tmp_path / "scopes"
    spec = f"{streams}:{state}"
    done = call_lines(
        Path(spec),
        [
            {"function_id": "stream::set", "payload": {**ITEM, "data": 1}},
            {"function_id": "state::set", "payload": {"scope": "app", "key": "k", "value": 2}},
        ],
    )
    assert [line["result"]["new_value"] for line in done] == [1, 2]
    assert decode_index_file((streams / "stream%3As%3Ag.bin").read_bytes()) == {"m1": 1}
    assert decode_index_file((state / "app.bin").read_bytes()) == {"k": 2}
    bad = subprocess.run(
        [sys.executable, "-m", "iii_core.cli", "call", "--engine-dir", f"{streams}:"],
        input=b"",
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stderr.startswith(b"iii-core call: ") and b"STREAMS_DIR:STATE_DIR" in bad.stderr
