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
# folder's `store` fixture.
SUITE = {**_store_tests(test_store_behaviour), **_store_tests(test_faults)}
globals().update(SUITE)

SCENARIOS = core_scenarios(load_stream_state_vectors())


def test_the_suite_and_the_scenarios_are_all_here() -> None:
    assert len(SCENARIOS) == 88
    behaviour = [name for name in vars(test_store_behaviour) if name.startswith("test_")]
    assert set(behaviour) <= set(SUITE)
    assert len(SUITE) >= len(behaviour) + 3


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
