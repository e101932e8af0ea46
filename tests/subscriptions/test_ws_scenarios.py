"""Every ``ws-*`` scenario of ``stream-state.json`` through the pure hub and the reference store."""

from __future__ import annotations

from typing import Any

import pytest

from tests.store.harness import EXCLUDED_SCENARIOS, load_stream_state_vectors
from tests.subscriptions.hub_driver import HubDriver
from tests.subscriptions.ws_scenarios import WS_SCENARIO_IDS, run_ws_scenario

BY_ID = {scenario["id"]: scenario for scenario in load_stream_state_vectors()}


def test_every_websocket_scenario_is_run_here() -> None:
    ws_ids = {name for name, scenario in BY_ID.items() if scenario["domain"] == "ws"}
    assert ws_ids == set(WS_SCENARIO_IDS)
    assert ws_ids <= set(EXCLUDED_SCENARIOS)  # left out of the store suites, run here instead


@pytest.mark.parametrize("name", WS_SCENARIO_IDS)
def test_scenario_on_the_hub(name: str) -> None:
    scenario: dict[str, Any] = BY_ID[name]
    run_ws_scenario(scenario, HubDriver)
