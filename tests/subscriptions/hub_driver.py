"""A synchronous binding of :class:`SubscriptionHub` over the reference store, for the tests: the
smallest thing that carries out the hub's actions (hooks are plain functions, reads and writes go
to :class:`tests.store.harness.CoreStore`, sends are collected as JSON).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import msgspec

from iii_core._generated.stream import StreamChangeEvent, StreamJoinLeaveEvent
from iii_core.subscriptions import (
    ReadSync,
    Refuse,
    RunJoinHooks,
    RunLeaveHooks,
    Send,
    SubscriptionHub,
    auth_context,
)
from tests.store.harness import START_MS, CoreStore
from tests.subscriptions.ws_scenarios import AUTH_FAILS

__all__ = ["CLIENT", "HubDriver"]

CLIENT: Final = "client"
Hook = Callable[[StreamJoinLeaveEvent], Any]
Action = Send[str] | RunJoinHooks[str] | RunLeaveHooks[str] | ReadSync[str] | Refuse[str] | None


def _json(value: Any) -> Any:
    return msgspec.json.decode(msgspec.json.encode(value))


class HubDriver:
    """One hub, one store, one client connection (:data:`CLIENT`)."""

    def __init__(self) -> None:
        self.hub: SubscriptionHub[str] = SubscriptionHub()
        self.store = CoreStore()
        self.join_hooks: list[Hook] = [self._record_join]
        self.leave_hooks: list[Hook] = [self._record_leave]
        self.received: dict[str, list[Any]] = {}
        self.joins: list[Any] = []
        self.leaves: list[Any] = []
        self._now = START_MS

    def _record_join(self, event: StreamJoinLeaveEvent) -> None:
        self.joins.append(_json(event))

    def _record_leave(self, event: StreamJoinLeaveEvent) -> None:
        self.leaves.append(_json(event))

    def _tick(self) -> int:
        self._now += 1
        return self._now

    def carry_out(self, action: Action) -> None:
        if isinstance(action, Send):
            for connection in action.connections:
                self.received.setdefault(connection, []).append(_json(action.message))
        elif isinstance(action, RunJoinHooks):
            results = [hook(action.event) for hook in self.join_hooks]
            self.carry_out(self.hub.admit(action, results, self._tick()))
        elif isinstance(action, RunLeaveHooks):
            for hook in self.leave_hooks:
                hook(action.event)
        elif isinstance(action, Refuse):
            raise AssertionError(f"this hub has no limits, yet refused: {action.reason}")
        elif isinstance(action, ReadSync):
            result, _ = self.store.call(action.function_id, _json(action.request))
            for send in self.hub.synced(action, result):
                self.carry_out(send)

    # -- WsDriver -----------------------------------------------------------------------------

    def add_join_hook(self, returns: Any) -> None:
        self.join_hooks.append(lambda _event: returns)

    def connect(self, auth_result: Any) -> None:
        # An auth hook that raises gives no result, which is what AUTH_FAILS stands for.
        self.hub.connect(CLIENT, auth_context(None if auth_result == AUTH_FAILS else auth_result))

    def send(self, frame: Any) -> None:
        self.carry_out(self.hub.receive(CLIENT, msgspec.json.encode(frame)))

    def call(self, function_id: str, payload: Any) -> Any:
        result, events = self.store.call(function_id, payload)
        for event in events:
            if event["type"] == "stream":
                self.carry_out(self.hub.publish(msgspec.convert(event, StreamChangeEvent)))
        return result

    def settle(self) -> list[Any]:
        return self.received.pop(CLIENT, [])

    def subscription_count(self) -> int:
        return len(self.hub.subscriptions(CLIENT))

    def join_payloads(self) -> list[Any]:
        return self.joins

    def leave_payloads(self) -> list[Any]:
        return self.leaves

    def close(self) -> None:
        for action in self.hub.disconnect(CLIENT):
            self.carry_out(action)

    def context(self) -> Any:
        probe = {"subscriptionId": "context-probe", "streamName": "probe", "groupId": "probe"}
        self.send({"type": "join", "data": probe})
        return self.joins[-1]["context"]
