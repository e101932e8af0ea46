"""The backend suite and the shared store scenarios, run on the engine directory store exactly
as on every other store (the ``store`` fixture of this folder); the scenarios with the engine's
``kv`` expectations, since this is the kv adapter's own storage."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

import msgspec
import pytest

from iii_core.backends import ChangeEvent, Store
from iii_core.backends.engine_dir import EngineDirStore
from iii_core.errors import ErrorCode
from iii_core.store import StoreCallError
from tests.backends import test_faults, test_store_behaviour
from tests.store.harness import core_scenarios, load_stream_state_vectors, run_scenario


def _store_tests(module: ModuleType) -> dict[str, Callable[..., None]]:
    """The tests of ``module`` that take a ``store`` and nothing else but their parameters."""
    chosen = {}
    for name, test in vars(module).items():
        if not name.startswith("test_") or not callable(test):
            continue
        parametrized = {
            arg.strip()
            for mark in getattr(test, "pytestmark", [])
            if mark.name == "parametrize"
            for arg in (mark.args[0].split(",") if isinstance(mark.args[0], str) else mark.args[0])
        }
        arguments = set(inspect.signature(test).parameters)
        if "store" in arguments and arguments <= parametrized | {"store"}:
            chosen[name] = test
    return chosen


# Every store test of the backend suite and of the fault tests, collected here again with this
# folder's `store` fixture; but for the one that stores a value deeper than the engine's file
# format can hold, which has its engine dir version below.
SUITE = {**_store_tests(test_store_behaviour), **_store_tests(test_faults)}
_TOO_DEEP_FOR_THE_FORMAT = "test_a_value_an_update_made_deeper_than_a_request_reads_back"
del SUITE[_TOO_DEEP_FOR_THE_FORMAT]
globals().update(SUITE)


def test_an_update_deeper_than_the_engine_loads_is_refused_and_changes_nothing(
    store: EngineDirStore,
) -> None:
    # The same update as the fault suite's: a value 153 deep, which the other stores keep. The
    # engine reads an index file with serde_json's recursion limit, so it could never load this
    # file again (docs/engine-dir.md, "Bounds"): refused before anything is written.
    item = test_faults.ITEM
    store.call("stream::set", {**item, "data": {"kept": 1}})
    path = ["a"] * 31 + ["l"]
    deep = {"type": "append", "path": path, "value": test_faults.nested_objects(120)}
    with pytest.raises(StoreCallError) as refused:
        store.call("stream::update", {**item, "ops": [deep]})
    assert refused.value.code == ErrorCode.STORE_WRITE_FAILED
    assert "126" in refused.value.message
    assert store.call("stream::get", item) == {"kept": 1}
    store.close()
    with EngineDirStore(store.directories[0].parent) as reopened:
        assert reopened.call("stream::get", item) == {"kept": 1}


SCENARIOS = core_scenarios(load_stream_state_vectors())


def test_the_suite_and_the_scenarios_are_all_here() -> None:
    assert len(SCENARIOS) == 88
    behaviour = [name for name in vars(test_store_behaviour) if name.startswith("test_")]
    assert set(behaviour) <= set(SUITE)
    assert len(SUITE) >= len(behaviour) + 3
    assert hasattr(test_faults, _TOO_DEEP_FOR_THE_FORMAT)  # the exclusion names a real test


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["id"] for s in SCENARIOS])
def test_scenario(store: Store, scenario: Mapping[str, Any]) -> None:
    seen: list[ChangeEvent] = []
    store.watch(seen.append)

    def call(function_id: str, payload: Any) -> tuple[Any, list[Any]]:
        start = len(seen)
        result = store.call(function_id, payload)
        store.sync_events()
        return result, msgspec.to_builtins(seen[start:])

    def configure(config: Mapping[str, Any]) -> None:
        store.max_value_bytes = config["max_value_bytes"]

    run_scenario(call, scenario, configure=configure, adapter="kv")
