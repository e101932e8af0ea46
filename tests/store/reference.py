"""A deliberately simple model of the engine's stream and state functions, on plain dicts.

It shares no code with ``iii_core.store`` (update ops come from ``tests.property.reference_model``)
and works on wire JSON only: payload dicts in, JSON results and events out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from iii_core.update import DOC_URL, MISSING
from tests.property import reference_model
from tests.store.strategies import FIELDS


class RefError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def is_valid_payload(function_id: str, payload: Any) -> bool:
    """Whether serde accepts an object payload (ops: only the plainly well-formed shapes)."""
    if type(payload) is not dict:
        return False
    if function_id == "state::set" and "data" in payload and "value" in payload:
        return False
    for field, kind in FIELDS[function_id]:
        key = field
        if function_id == "state::set" and field == "value" and "value" not in payload:
            key = "data"
        if key not in payload:
            if kind != "opt":
                return False
            continue
        value = payload[key]
        if kind == "str" and type(value) is not str:
            return False
        if kind == "opt" and value is not None and type(value) is not str:
            return False
        if kind == "ops" and type(value) is not list:
            return False
    return True


def _stream_event(payload: dict[str, Any], now_ms: int, kind: str, data: Any) -> dict[str, Any]:
    return {
        "type": "stream",
        "timestamp": now_ms,
        "streamName": payload["stream_name"],
        "groupId": payload["group_id"],
        "id": payload["item_id"],
        "event": {"type": kind, "data": data},
    }


def _state_event(payload: dict[str, Any], kind: str, old: Any, new: Any) -> dict[str, Any]:
    return {
        "type": "state",
        "event_type": kind,
        "scope": payload["scope"],
        "key": payload["key"],
        "old_value": old,
        "new_value": new,
    }


def _update(old: Any, ops: list[Any]) -> tuple[Any, list[dict[str, Any]]]:
    new, rows = reference_model.apply(old, ops, missing=old is MISSING)
    errors = [
        {"op_index": i, "code": code, "message": message, "doc_url": DOC_URL}
        for i, code, message in rows
    ]
    return new, errors


def _update_result(old: Any, new: Any, errors: list[dict[str, Any]]) -> dict[str, Any]:
    result = {"old_value": None if old is MISSING else old, "new_value": new}
    if errors:
        result["errors"] = errors
    return result


def rust_float(x: float) -> str:
    """A float as serde_json (ryu) writes it: shortest digits, ``1e16``, ``0.00001``, ``1e-7``."""
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    parts = Decimal(repr(abs(x))).normalize().as_tuple()
    digits = "".join(map(str, parts.digits))
    k = int(parts.exponent)
    kk = len(digits) + k
    if k >= 0 and kk <= 16:
        text = digits + "0" * k + ".0"
    elif 0 < kk <= 16:
        text = digits[:kk] + "." + digits[kk:]
    elif -5 < kk <= 0:
        text = "0." + "0" * -kk + digits
    elif len(digits) == 1:
        text = f"{digits}e{kk - 1}"
    else:
        text = f"{digits[0]}.{digits[1:]}e{kk - 1}"
    return sign + text


def dump(value: Any) -> str:
    """Compact JSON with raw UTF-8 and serde_json's number format."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        return str(value)
    if type(value) is float:
        return rust_float(value)
    if type(value) is str:
        return json.dumps(value, ensure_ascii=False)
    if type(value) is list:
        return "[" + ",".join(dump(v) for v in value) + "]"
    assert type(value) is dict, value
    return (
        "{"
        + ",".join(json.dumps(k, ensure_ascii=False) + ":" + dump(v) for k, v in value.items())
        + "}"
    )


def json_size(value: Any) -> int:
    return len(dump(value).encode())


def write(
    function_id: str, payload: dict[str, Any], old: Any, now_ms: int, limit: int | None = None
) -> tuple[bool, Any, Any, list[dict[str, Any]]]:
    """``(write, new, result, events)`` of one write, all JSON (``new`` may be MISSING)."""
    present = old is not MISSING
    old_json = old if present else None
    if function_id == "stream::set":
        data = payload["data"]
        kind = "update" if present else "create"
        result = {"old_value": old_json, "new_value": data}
        return True, data, result, [_stream_event(payload, now_ms, kind, data)]
    if function_id == "stream::update":
        new, errors = _update(old, payload["ops"])
        kind = "update" if present else "create"
        return (
            True,
            new,
            _update_result(old, new, errors),
            [_stream_event(payload, now_ms, kind, new)],
        )
    if function_id == "stream::delete":
        if not present:
            return False, MISSING, {"old_value": None}, []
        return True, MISSING, {"old_value": old}, [_stream_event(payload, now_ms, "delete", old)]
    if function_id == "stream::send":
        event = {
            "type": "stream",
            "timestamp": now_ms,
            "streamName": payload["stream_name"],
            "groupId": payload["group_id"],
            "id": payload.get("id"),
            "event": {"type": "event", "event": {"type": payload["type"], "data": payload["data"]}},
        }
        return False, old, None, [event]
    if function_id == "state::set":
        value = payload["value"] if "value" in payload else payload["data"]
        if limit is not None and limit > 0 and json_size(value) > limit:  # <= 0: no limit
            size = json_size(value)
            raise RefError(
                "VALUE_TOO_LARGE",
                f"value of {size} bytes exceeds the configured max_value_bytes limit of {limit}",
            )
        kind = "state:updated" if present else "state:created"
        result = {"old_value": old_json, "new_value": value}
        return True, value, result, [_state_event(payload, kind, old_json, value)]
    if function_id == "state::update":
        new, errors = _update(old, payload["ops"])
        kind = "state:updated" if present else "state:created"
        return (
            True,
            new,
            _update_result(old, new, errors),
            [_state_event(payload, kind, old_json, new)],
        )
    if function_id == "state::delete":
        return present, MISSING, old_json, [_state_event(payload, "state:deleted", old_json, None)]
    raise AssertionError(function_id)


def location(function_id: str, payload: dict[str, Any]) -> tuple[str, str] | None:
    if function_id in ("stream::set", "stream::get", "stream::delete", "stream::update"):
        return "stream:" + payload["stream_name"] + ":" + payload["group_id"], payload["item_id"]
    if function_id in ("state::set", "state::get", "state::delete", "state::update"):
        return "state:" + payload["scope"], payload["key"]
    return None


def list_groups_stream(stream_name: str, keys: Iterable[str]) -> list[str]:
    prefix = "stream:" + stream_name + ":"
    return [k[len(prefix) :] for k in keys if k[: len(prefix)] == prefix]


def list_groups_state(keys: Iterable[str]) -> dict[str, list[str]]:
    return {"groups": sorted({k[6:] for k in keys if k[:6] == "state:"})}


def list_all(keys: Iterable[str]) -> dict[str, Any]:
    found: dict[str, list[str]] = {}
    for k in keys:
        parts = k.split(":")
        if parts[0] == "stream" and len(parts) >= 3:
            groups = found.setdefault(parts[1], [])
            if parts[2] not in groups:
                groups.append(parts[2])
    streams = [{"id": s, "groups": sorted(found[s])} for s in sorted(found)]
    return {"stream": streams, "count": len(streams)}


def stream_matches(config: dict[str, Any], event: dict[str, Any]) -> bool:
    if config.get("stream_name") is None or config["stream_name"] != event["streamName"]:
        return False
    if config.get("group_id") not in (None, "") and config["group_id"] != event["groupId"]:
        return False
    item = event.get("id") or ""
    return not (config.get("item_id") not in (None, "") and config["item_id"] != item)


def state_matches(config: dict[str, Any], event: dict[str, Any]) -> bool:
    if config.get("scope") is not None and config["scope"] != event["scope"]:
        return False
    return not (config.get("key") is not None and config["key"] != event["key"])


class RefStore:
    """The whole store as nested dicts, for call sequences."""

    def __init__(self, limit: int | None = None) -> None:
        self.hashes: dict[str, dict[str, Any]] = {}
        self.limit = limit

    def call(self, function_id: str, payload: dict[str, Any], now_ms: int) -> tuple[Any, list[Any]]:
        loc = location(function_id, payload)
        item = MISSING
        if loc is not None and loc[1] in self.hashes.get(loc[0], {}):
            item = self.hashes[loc[0]][loc[1]]
        if function_id in ("stream::get", "state::get"):
            return (None if item is MISSING else item), []
        if function_id == "stream::list":
            key = "stream:" + payload["stream_name"] + ":" + payload["group_id"]
            return list(self.hashes.get(key, {}).values()), []
        if function_id == "state::list":
            return list(self.hashes.get("state:" + payload["scope"], {}).values()), []
        if function_id == "stream::list_groups":
            return list_groups_stream(payload["stream_name"], self.hashes), []
        if function_id == "state::list_groups":
            return list_groups_state(self.hashes), []
        if function_id == "stream::list_all":
            return list_all(self.hashes), []
        wrote, new, result, events = write(function_id, payload, item, now_ms, self.limit)
        if wrote and loc is not None:
            if new is MISSING:
                del self.hashes[loc[0]][loc[1]]
            else:
                self.hashes.setdefault(loc[0], {})[loc[1]] = new
        return result, events
