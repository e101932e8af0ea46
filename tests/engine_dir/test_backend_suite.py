"""The backend suite and the shared store scenarios, run on the engine directory store exactly
as on every other store (the ``store`` fixture of this folder); the scenarios with the engine's
``kv`` expectations, since this is the kv adapter's own storage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
import pytest

from iii_core.backends import ChangeEvent, Store
from tests.backends import test_store_behaviour
from tests.store.harness import core_scenarios, load_stream_state_vectors, run_scenario

# Every test of the backend suite, collected here again with this folder's `store` fixture.
globals().update(
    {name: test for name, test in vars(test_store_behaviour).items() if name.startswith("test_")}
)

SCENARIOS = core_scenarios(load_stream_state_vectors())


def test_the_suite_and_the_scenarios_are_all_here() -> None:
    assert len(SCENARIOS) == 88
    assert sum(name.startswith("test_") for name in vars(test_store_behaviour)) >= 10


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
