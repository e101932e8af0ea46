"""Slow, obviously-right models of the hub's rules, written without its code: a flat list of
subscriptions scanned in full, and frames and auth requests parsed by hand with ``json`` and
string splitting."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

__all__ = ["ReferenceHub", "reference_auth_input", "reference_frame"]

_NAMES = ("subscriptionId", "streamName", "groupId")


def reference_frame(frame: bytes | str) -> tuple[str, dict[str, Any]] | None:
    """``(kind, data)`` of a join/leave frame, with ``id`` filled in as ``None``, or ``None``."""
    try:
        value = json.loads(frame)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict) or value.get("type") not in ("join", "leave"):
        return None
    data = value.get("data")
    if not isinstance(data, dict) or not all(isinstance(data.get(name), str) for name in _NAMES):
        return None
    item = data.get("id")
    if item is not None and not isinstance(item, str):
        return None
    return value["type"], {**{name: data[name] for name in _NAMES}, "id": item}


def reference_auth_input(
    target: str, headers: Iterable[tuple[str, str]], peer: tuple[str, int]
) -> dict[str, Any]:
    path = target.split("?", 1)[0]
    query = target.split("?", 1)[1] if "?" in target else ""
    params: dict[str, list[str]] = {}
    for pair in query.split("&"):
        pieces = pair.split("=", 1)
        if pieces[0] != "":
            params.setdefault(pieces[0], []).append(pieces[1] if len(pieces) == 2 else "")
    kept: dict[str, str] = {}
    for name, value in headers:
        if all(ord(char) == 9 or 32 <= ord(char) <= 126 for char in value):
            kept[name.lower()] = value
    host, port = peer
    addr = "[" + host + "]:" + str(port) if ":" in host else host + ":" + str(port)
    return {"headers": kept, "path": path, "query_params": params, "addr": addr}


def _rejected(results: Iterable[Any]) -> bool:
    return any(isinstance(r, dict) and r.get("unauthorized") is True for r in results)


class ReferenceHub:
    """Observations as JSON tuples: ``("join-hooks", payload)``, ``("leave-hooks", payload)``,
    ``("read", function_id, request)``, ``("send", connection, message)``."""

    def __init__(self) -> None:
        self.contexts: dict[Any, Any] = {}
        self.subscriptions: list[dict[str, Any]] = []  # in the order they were made

    def connect(self, connection: Any, context: Any) -> None:
        self.contexts[connection] = context

    def _payload(self, connection: Any, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "subscription_id": data["subscriptionId"],
            "stream_name": data["streamName"],
            "group_id": data["groupId"],
            "id": data["id"],
            "context": self.contexts[connection],
        }

    def _remove(self, connection: Any, subscription_id: str) -> None:
        self.subscriptions = [
            s
            for s in self.subscriptions
            if not (s["connection"] == connection and s["subscription_id"] == subscription_id)
        ]

    def frame(
        self, connection: Any, frame: bytes | str, results: list[Any], data: Any, now: int
    ) -> list[tuple[Any, ...]]:
        parsed = reference_frame(frame)
        if parsed is None:
            return []
        kind, fields = parsed
        payload = self._payload(connection, fields)
        if kind == "leave":
            self._remove(connection, payload["subscription_id"])
            return [("leave-hooks", payload)]
        seen: list[tuple[Any, ...]] = [("join-hooks", payload)]
        address = {
            "type": "stream",
            "timestamp": now,
            "streamName": payload["stream_name"],
            "groupId": payload["group_id"],
            "id": payload["id"],
        }
        if _rejected(results):
            return [*seen, ("send", connection, {**address, "event": {"type": "unauthorized"}})]
        self._remove(connection, payload["subscription_id"])
        self.subscriptions.append({"connection": connection, **payload})
        where = {"stream_name": payload["stream_name"], "group_id": payload["group_id"]}
        if payload["id"] is None:
            seen.append(("read", "stream::list", where))
        else:
            seen.append(("read", "stream::get", {**where, "item_id": payload["id"]}))
        seen.append(("send", connection, {**address, "event": {"type": "sync", "data": data}}))
        return seen

    def publish(self, event: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [
            ("send", s["connection"], event)
            for s in self.subscriptions
            if s["stream_name"] == event["streamName"]
            and s["group_id"] == event["groupId"]
            and (s["id"] is None or s["id"] == event.get("id"))
        ]

    def disconnect(self, connection: Any) -> list[tuple[Any, ...]]:
        if connection not in self.contexts:
            return []
        del self.contexts[connection]
        mine = [s for s in self.subscriptions if s["connection"] == connection]
        self.subscriptions = [s for s in self.subscriptions if s["connection"] != connection]
        return [("leave-hooks", {k: v for k, v in s.items() if k != "connection"}) for s in mine]
