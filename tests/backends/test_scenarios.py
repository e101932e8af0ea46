"""The shared stream/state scenarios (../shared/conformance/stream-state.json), run against
every backend through its public ``call``, with events collected by ``watch``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
import pytest

from iii_core.backends import ChangeEvent, Store
from tests.backends.async_facade import keeps_memory_order
from tests.store.harness import core_scenarios, load_stream_state_vectors, run_scenario

SCENARIOS = core_scenarios(load_stream_state_vectors())


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

    run_scenario(
        call,
        scenario,
        configure=configure,
        adapter="kv" if keeps_memory_order(store) else "redis",
    )
