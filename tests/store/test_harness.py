"""The reference store and the scenario runner are themselves strict."""

from __future__ import annotations

from typing import Any

import pytest

from iii_core.store import StoreCallError
from tests.store.harness import CoreStore, ScenarioFailure, json_matches, run_scenario


def scenario(*steps: dict[str, Any], setup: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"id": "t", "steps": list(steps), "setup": setup or []}


SET = {"stream_name": "s", "group_id": "g", "item_id": "i", "data": 1}


def test_placeholder_accepts_epoch_ms_only() -> None:
    assert json_matches({"t": "<epoch-ms>"}, {"t": 1_700_000_000_000})
    assert not json_matches({"t": "<epoch-ms>"}, {"t": 1_700_000_000})  # seconds
    assert not json_matches({"t": "<epoch-ms>"}, {"t": "1700000000000"})
    assert not json_matches({"t": "<epoch-ms>"}, {"t": True})
    assert not json_matches(1, 1.0)
    assert not json_matches({"a": 1}, {"a": 1, "b": 2})


def test_runner_rejects_a_wrong_result() -> None:
    store = CoreStore()
    step = {
        "call": "stream::set",
        "input": SET,
        "expect": {"result": {"old_value": None, "new_value": 2}},
    }
    with pytest.raises(ScenarioFailure, match="result"):
        run_scenario(store.call, scenario(step))


def test_runner_rejects_a_missing_or_wrong_error() -> None:
    step = {"call": "stream::set", "input": SET, "expect": {"error": {"code": "x", "message": "y"}}}
    with pytest.raises(ScenarioFailure, match="an error"):
        run_scenario(CoreStore().call, scenario(step))
    bad = {
        "call": "stream::set",
        "input": {},
        "expect": {"error": {"code": "deserialization_error", "message": "nope"}},
    }
    with pytest.raises(ScenarioFailure, match="message"):
        run_scenario(CoreStore().call, scenario(bad))


def test_runner_rejects_an_unexpected_error_and_unknown_expectations() -> None:
    step = {"call": "stream::set", "input": {}, "expect": {"result": None}}
    with pytest.raises(ScenarioFailure, match="unexpected error"):
        run_scenario(CoreStore().call, scenario(step))
    odd = {"call": "stream::set", "input": SET, "expect": {"trigger_invocations": 0}}
    with pytest.raises(ScenarioFailure, match="unsupported"):
        run_scenario(CoreStore().call, scenario(odd))
    with pytest.raises(ScenarioFailure, match="not supported"):
        run_scenario(CoreStore().call, scenario({"call": "kv.reload", "input": {}}))


def test_config_needs_a_configure_hook() -> None:
    store = CoreStore()
    setup = [{"call": "config", "input": {"max_value_bytes": 1}}]
    with pytest.raises(ScenarioFailure, match="no config"):
        run_scenario(store.call, scenario(setup=setup))
    run_scenario(store.call, scenario(setup=setup), configure=store.configure)
    assert store.max_value_bytes == 1
    with pytest.raises(ValueError, match="unsupported store config"):
        store.configure({"triggers_enabled": False})


def test_core_store_keeps_emptied_hashes_and_ticks_per_write() -> None:
    store = CoreStore(start_ms=1_700_000_000_000)
    _, (created,) = store.call("stream::set", SET)
    store.call("stream::get", {"stream_name": "s", "group_id": "g", "item_id": "i"})
    _, (deleted,) = store.call(
        "stream::delete", {"stream_name": "s", "group_id": "g", "item_id": "i"}
    )
    assert deleted["timestamp"] == created["timestamp"] + 1
    assert store.hashes == {"stream:s:g": {}}
    assert store.call("stream::list_groups", {"stream_name": "s"}) == (["g"], [])
    with pytest.raises(StoreCallError):
        store.call("stream::nope", {})
