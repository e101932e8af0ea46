"""Every store scenario of ../shared/conformance/stream-state.json, through the pure core.

Each scenario runs on a fresh :class:`tests.store.harness.CoreStore`, a single in-memory store
built only from ``iii_core.store``'s public functions, with the kv adapter's expectations where
they differ by adapter. The scenarios that are not about a store (WebSockets, the engine's
Redis-Lua divergences, concurrency, the kv file format, trigger dispatch) are left out of the
parametrisation by the explicit, commented table ``EXCLUDED_SCENARIOS`` in the harness; the kv
half of the Redis-divergence scenarios runs in a test of its own.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.store.harness import (
    EXCLUDED_SCENARIOS,
    KV_HALF_OF_REDIS_SCENARIOS,
    CoreStore,
    ScenarioFailure,
    core_scenarios,
    load_stream_state_vectors,
    run_scenario,
)

VECTORS = load_stream_state_vectors()
BY_ID = {scenario["id"]: scenario for scenario in VECTORS}
SCENARIOS = core_scenarios(VECTORS)
KV_HALF = [BY_ID[name] for name in KV_HALF_OF_REDIS_SCENARIOS]


def test_all_scenarios_loaded() -> None:
    assert len(VECTORS) == 107


def test_selection_is_explicit() -> None:
    ids = Counter(scenario["id"] for scenario in VECTORS)
    assert max(ids.values()) == 1, "scenario ids must be unique"
    assert set(EXCLUDED_SCENARIOS) <= set(ids), set(EXCLUDED_SCENARIOS) - set(ids)
    assert set(KV_HALF_OF_REDIS_SCENARIOS) <= set(EXCLUDED_SCENARIOS)
    assert len(SCENARIOS) + len(EXCLUDED_SCENARIOS) == len(VECTORS)
    # Everything that is not excluded is a store, update-op or trigger-matching scenario.
    assert {s["domain"] for s in SCENARIOS} <= {"stream", "state", "update_ops", "trigger"}
    assert {s["adapter"] for s in SCENARIOS} <= {"any", "kv", "kv|redis"}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["id"] for s in SCENARIOS])
def test_scenario(scenario: dict[str, Any]) -> None:
    store = CoreStore()
    run_scenario(store.call, scenario, configure=store.configure)


@pytest.mark.parametrize("scenario", KV_HALF, ids=[s["id"] for s in KV_HALF])
def test_kv_half_of_redis_divergence(scenario: dict[str, Any]) -> None:
    """Our stores keep kv semantics everywhere: the kv side of each Redis-Lua divergence."""
    store = CoreStore()
    run_scenario(store.call, scenario, configure=store.configure, adapter="kv")


def test_runner_catches_a_wrong_store() -> None:
    """The runner is not vacuous: a store that drops events fails a scenario that expects one."""
    store = CoreStore()

    def no_events(function_id: str, payload: Any) -> tuple[Any, list[Any]]:
        result, _ = store.call(function_id, payload)
        return result, []

    with pytest.raises(ScenarioFailure, match="events"):
        run_scenario(no_events, BY_ID["stream-set-create"])
