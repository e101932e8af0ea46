"""The ``ws-*`` scenarios of ``stream-state.json``, run against any :class:`WsDriver`: the pure
hub beside the reference store (``test_ws_scenarios.py``) or a real server over a real socket
(``tests/server``).

A driver holds one client connection. ``settle()`` returns once every effect of what was done
so far has happened (frames handled, hooks run, change events delivered) and gives the messages
the client received since the previous ``settle()``, decoded as JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

from tests.store.harness import ScenarioFailure, json_matches

__all__ = ["WS_SCENARIO_IDS", "WsDriver", "event_as_call", "run_ws_scenario"]

WS_SCENARIO_IDS: Final = (
    "ws-join-item-sync-then-update",
    "ws-join-group-sync-list",
    "ws-join-missing-item-sync-null",
    "ws-unauthorized-join",
    "ws-join-leave-payload",
    "ws-duplicate-delivery",
    "ws-close-fires-leave",
    "ws-auth-cannot-reject",
)
AUTH_FAILS: Final = "ERROR"


class WsDriver(Protocol):
    def add_join_hook(self, returns: Any) -> None: ...
    def connect(self, auth_result: Any) -> None:
        """Open the client connection; ``auth_result`` is what the auth hook returns, or
        :data:`AUTH_FAILS` for an auth hook that raises."""

    def send(self, frame: Any) -> None: ...
    def call(self, function_id: str, payload: Any) -> Any: ...
    def settle(self) -> list[Any]: ...
    def subscription_count(self) -> int: ...
    def join_payloads(self) -> list[Any]: ...
    def leave_payloads(self) -> list[Any]: ...
    def close(self) -> None:
        """Close the client connection; return once the server has handled the close."""

    def context(self) -> Any:
        """The auth context the server holds for the connection."""


def event_as_call(event: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The store call that emits ``event`` (a ``stream::send`` or a create/update ``set``)."""
    detail = event["event"]
    where = {"stream_name": event["streamName"], "group_id": event["groupId"]}
    if detail["type"] == "event":
        custom = detail["event"]
        return "stream::send", {
            **where,
            "id": event["id"],
            "type": custom["type"],
            "data": custom["data"],
        }
    if detail["type"] in ("create", "update"):
        return "stream::set", {**where, "item_id": event["id"], "data": detail["data"]}
    raise ValueError(f"no store call emits a {detail['type']!r} event")


def _check(condition: bool, where: str, what: str, expected: Any, actual: Any) -> None:
    if not condition:
        raise ScenarioFailure(f"{where}: {what}\n  expected: {expected!r}\n  actual:   {actual!r}")


def _check_expectations(
    driver: WsDriver, where: str, expect: Mapping[str, Any], outbound: list[Any]
) -> None:
    known = {"outbound", "subscriptions", "join_trigger_payload"}
    if set(expect) - known:
        raise ScenarioFailure(f"{where}: unsupported expectations {sorted(set(expect) - known)}")
    if "outbound" in expect:
        _check(
            json_matches(expect["outbound"], outbound),
            where,
            "outbound",
            expect["outbound"],
            outbound,
        )
    if "subscriptions" in expect:
        count = driver.subscription_count()
        _check(count == expect["subscriptions"], where, "subscriptions", expect, count)
    if "join_trigger_payload" in expect:
        payloads = driver.join_payloads()
        want = expect["join_trigger_payload"]
        _check(
            bool(payloads) and json_matches(want, payloads[-1]),
            where,
            "join payload",
            want,
            payloads,
        )


def run_ws_scenario(scenario: Mapping[str, Any], make_driver: Callable[[], WsDriver]) -> None:
    """Run one ``ws-*`` scenario on a fresh driver; raise :class:`ScenarioFailure` on a mismatch."""
    name = scenario["id"]
    driver = make_driver()
    auth_result: Any = None
    connected = False

    def connection() -> WsDriver:
        nonlocal connected
        if not connected:
            driver.connect(auth_result)
            connected = True
        return driver

    for index, step in enumerate([*scenario.get("setup", []), *scenario["steps"]]):
        where = f"{name} [{index}] {step['call']}"
        call, expect = step["call"], step.get("expect", {})
        if call == "auth":
            auth_result = step["input"]["result"]
        elif call == "register_trigger":
            _check(step["input"]["type"] == "stream:join", where, "a join trigger", step, None)
            driver.add_join_hook(step["input"]["returns"])
        elif call == "ws.connect":
            auth_result = step["input"]["auth_function_result"]
            connection()  # raises if the connection is refused
            _check(expect.get("upgraded") is True, where, "an upgrade", expect, True)
            _check(
                json_matches(expect["context"], driver.context()),
                where,
                "context",
                expect,
                driver.context(),
            )
        elif call in ("ws.send", "ws.recv_after_join"):
            connection().send(step["input"])
            _check_expectations(driver, where, expect, driver.settle())
        elif call == "ws.close":
            connection().close()
            ids = [payload["subscription_id"] for payload in driver.leave_payloads()]
            want = expect["leave_trigger_subscription_ids"]
            _check(ids == want, where, "leave hook subscription ids", want, ids)
        elif call == "deliver":
            for subscription in step["input"]["subscriptions"]:
                connection().send({"type": "join", "data": subscription})
            driver.settle()  # the syncs
            driver.call(*event_as_call(step["input"]["event"]))
            frames = driver.settle()
            want = expect["frames_delivered"]
            _check(len(frames) == want, where, "frames delivered", want, frames)
        elif call.startswith(("stream::", "state::")):
            driver.call(call, step["input"])
            _check_expectations(driver, where, expect, driver.settle() if connected else [])
        else:
            raise ScenarioFailure(f"{where}: step kind not supported by the ws runner")
