"""Every ``ws-*`` scenario of ``stream-state.json`` against a real server and a real WebSocket
client, on the memory store and on Redis."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.redis_server import RedisServer
from tests.server.support import store_factory
from tests.server.ws_driver import ServerDriver
from tests.store.harness import load_stream_state_vectors
from tests.subscriptions.ws_scenarios import WS_SCENARIO_IDS, run_ws_scenario

BY_ID = {scenario["id"]: scenario for scenario in load_stream_state_vectors()}


@pytest.fixture
def drivers(store_kind: str, redis_server: RedisServer) -> Iterator[list[ServerDriver]]:
    made: list[ServerDriver] = []
    yield made
    for driver in made:
        driver.stop()


@pytest.mark.parametrize("name", WS_SCENARIO_IDS)
def test_scenario_on_the_server(
    name: str, store_kind: str, redis_server: RedisServer, drivers: list[ServerDriver]
) -> None:
    def make() -> ServerDriver:
        driver = ServerDriver(store_factory(store_kind, redis_server))
        drivers.append(driver)
        return driver

    scenario: dict[str, Any] = BY_ID[name]
    run_ws_scenario(scenario, make)
