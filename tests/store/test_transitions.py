"""transition: one focused case per write and per engine quirk, plus the max_value_bytes bound."""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec
import pytest

from iii_core._generated.stream import (
    StreamChangeEvent,
    StreamDeleteResult,
    StreamSetResult,
    StreamUpdateResult,
)
from iii_core.store import (
    StoreCallError,
    Transition,
    decode_call,
    encode_result,
    json_size,
    transition,
)
from iii_core.update import DOC_URL, MISSING
from tests.jsonvalues import same_json, snapshot

NOW = 1_700_000_000_000
ITEM = {"stream_name": "chat", "group_id": "room", "item_id": "m1"}
KEY = {"scope": "users", "key": "u1"}


def run(function_id: str, payload: dict[str, Any], old: Any, **options: Any) -> Transition:
    request = decode_call(function_id, payload)
    before = snapshot(old)
    step = transition(request, old, NOW, **options)
    assert old is MISSING or same_json(old, before)
    return step


def wire(value: Any) -> Any:
    return msgspec.json.decode(encode_result(value))


def events(step: Transition) -> list[Any]:
    return [wire(event) for event in step.events]


def stream_event(kind: str, data: Any, item_id: str | None = "m1") -> dict[str, Any]:
    return {
        "type": "stream",
        "timestamp": NOW,
        "streamName": "chat",
        "groupId": "room",
        "id": item_id,
        "event": {"type": kind, "data": data},
    }


def state_event(kind: str, old: Any, new: Any) -> dict[str, Any]:
    return {
        "type": "state",
        "event_type": kind,
        "scope": "users",
        "key": "u1",
        "old_value": old,
        "new_value": new,
    }


# ------------------------------------------------------------------------------------ stream


def test_stream_set_on_missing_item_creates() -> None:
    step = run("stream::set", {**ITEM, "data": {"t": "hi"}}, MISSING)
    assert step.write is True
    assert step.new == {"t": "hi"}
    assert step.result == StreamSetResult(old_value=None, new_value={"t": "hi"})
    assert wire(step.result) == {"old_value": None, "new_value": {"t": "hi"}}
    assert events(step) == [stream_event("create", {"t": "hi"})]


def test_stream_set_over_a_value_updates_without_diffing() -> None:
    step = run("stream::set", {**ITEM, "data": {"a": 1}}, {"a": 1})
    assert step.write is True
    assert wire(step.result) == {"old_value": {"a": 1}, "new_value": {"a": 1}}
    assert events(step) == [stream_event("update", {"a": 1})]


def test_stream_set_over_a_stored_null_is_an_update() -> None:
    step = run("stream::set", {**ITEM, "data": 2}, None)
    assert wire(step.result) == {"old_value": None, "new_value": 2}
    assert events(step) == [stream_event("update", 2)]


def test_stream_set_of_null_stores_null() -> None:
    step = run("stream::set", {**ITEM, "data": None}, MISSING)
    assert step.write is True
    assert step.new is None
    assert events(step) == [stream_event("create", None)]


def test_stream_set_shares_the_value_instead_of_copying() -> None:
    data = {"big": list(range(100))}
    request = decode_call("stream::set", {**ITEM, "data": data})
    step = transition(request, MISSING, NOW)
    assert step.new is data


def test_stream_update_on_missing_item_creates_and_omits_errors() -> None:
    ops = [{"type": "set", "path": "", "value": {"key": "v", "count": 1}}]
    step = run("stream::update", {**ITEM, "ops": ops}, MISSING)
    assert step.write is True
    assert step.new == {"key": "v", "count": 1}
    assert isinstance(step.result, StreamUpdateResult)
    assert encode_result(step.result) == b'{"old_value":null,"new_value":{"count":1,"key":"v"}}'
    assert events(step) == [stream_event("create", {"count": 1, "key": "v"})]


def test_stream_update_with_empty_ops_still_writes_and_emits() -> None:
    step = run("stream::update", {**ITEM, "ops": []}, MISSING)
    assert (step.write, step.new) == (True, {})
    assert wire(step.result) == {"old_value": None, "new_value": {}}
    assert events(step) == [stream_event("create", {})]
    step = run("stream::update", {**ITEM, "ops": []}, {"a": 1})
    assert (step.write, step.new) == (True, {"a": 1})
    assert events(step) == [stream_event("update", {"a": 1})]


def test_stream_update_whose_ops_all_fail_still_writes() -> None:
    ops = [{"type": "set", "path": "__proto__", "value": True}]
    step = run("stream::update", {**ITEM, "ops": ops}, MISSING)
    assert (step.write, step.new) == (True, {})
    assert wire(step.result) == {
        "old_value": None,
        "new_value": {},
        "errors": [
            {
                "op_index": 0,
                "code": "set.path.proto_polluted",
                "message": "Path segment '__proto__' is not allowed (prototype pollution).",
                "doc_url": DOC_URL,
            }
        ],
    }
    assert events(step) == [stream_event("create", {})]


def test_stream_update_reports_failed_ops_and_keeps_the_others() -> None:
    ops = [
        {"type": "increment", "path": "name", "by": 1},
        {"type": "set", "path": "ok", "value": True},
    ]
    step = run("stream::update", {**ITEM, "ops": ops}, {"name": "Ada"})
    result = wire(step.result)
    assert result["new_value"] == {"name": "Ada", "ok": True}
    assert [(e["op_index"], e["code"]) for e in result["errors"]] == [(0, "increment.not_number")]
    assert events(step) == [stream_event("update", {"name": "Ada", "ok": True})]


def test_stream_delete_of_an_item_emits_the_removed_value() -> None:
    step = run("stream::delete", ITEM, {"k": "v"})
    assert (step.write, step.new) == (True, MISSING)
    assert step.result == StreamDeleteResult(old_value={"k": "v"})
    assert events(step) == [stream_event("delete", {"k": "v"})]


def test_stream_delete_of_a_missing_item_does_nothing() -> None:
    step = run("stream::delete", ITEM, MISSING)
    assert (step.write, step.new, step.events) == (False, MISSING, ())
    assert encode_result(step.result) == b'{"old_value":null}'


def test_stream_delete_of_a_stored_null_emits() -> None:
    step = run("stream::delete", ITEM, None)
    assert (step.write, step.new) == (True, MISSING)
    assert wire(step.result) == {"old_value": None}
    assert events(step) == [stream_event("delete", None)]


@pytest.mark.parametrize("item_id", [None, "item-1"])
def test_stream_send_stores_nothing_and_emits_a_custom_event(item_id: str | None) -> None:
    payload: dict[str, Any] = {
        "stream_name": "chat",
        "group_id": "room",
        "type": "typing",
        "data": {"u": 1},
    }
    if item_id is not None:
        payload["id"] = item_id
    step = run("stream::send", payload, MISSING)
    assert (step.write, step.new, step.result) == (False, MISSING, None)
    assert encode_result(step.result) == b"null"
    assert events(step) == [
        {
            "type": "stream",
            "timestamp": NOW,
            "streamName": "chat",
            "groupId": "room",
            "id": item_id,
            "event": {"type": "event", "event": {"type": "typing", "data": {"u": 1}}},
        }
    ]


def test_stream_event_timestamp_is_now_ms() -> None:
    request = decode_call("stream::set", {**ITEM, "data": 1})
    (event,) = transition(request, MISSING, 42).events
    assert isinstance(event, StreamChangeEvent)
    assert event.timestamp == 42


# ------------------------------------------------------------------------------------- state


def test_state_set_create_and_update() -> None:
    step = run("state::set", {**KEY, "value": {"name": "Alice"}}, MISSING)
    assert (step.write, step.new) == (True, {"name": "Alice"})
    assert wire(step.result) == {"old_value": None, "new_value": {"name": "Alice"}}
    assert events(step) == [state_event("state:created", None, {"name": "Alice"})]
    step = run("state::set", {**KEY, "data": 2}, 1)
    assert wire(step.result) == {"old_value": 1, "new_value": 2}
    assert events(step) == [state_event("state:updated", 1, 2)]


def test_state_set_over_a_stored_null_is_an_update() -> None:
    step = run("state::set", {**KEY, "value": 1}, None)
    assert events(step) == [state_event("state:updated", None, 1)]


def test_state_update_create_and_update() -> None:
    ops = [{"type": "increment", "path": "counter", "by": 1}]
    step = run("state::update", {**KEY, "ops": ops}, MISSING)
    assert (step.write, step.new) == (True, {"counter": 1})
    assert encode_result(step.result) == b'{"old_value":null,"new_value":{"counter":1}}'
    assert events(step) == [state_event("state:created", None, {"counter": 1})]
    step = run("state::update", {**KEY, "ops": ops}, {"counter": 1})
    assert events(step) == [state_event("state:updated", {"counter": 1}, {"counter": 2})]


def test_state_update_over_a_stored_null_is_an_update() -> None:
    step = run("state::update", {**KEY, "ops": [{"type": "set", "path": "", "value": 1}]}, None)
    assert wire(step.result) == {"old_value": None, "new_value": 1}
    assert events(step) == [state_event("state:updated", None, 1)]


def test_state_delete_returns_the_bare_value() -> None:
    step = run("state::delete", KEY, "hello")
    assert (step.write, step.new, step.result) == (True, MISSING, "hello")
    assert events(step) == [state_event("state:deleted", "hello", None)]


def test_state_delete_of_a_missing_key_still_emits() -> None:
    step = run("state::delete", KEY, MISSING)
    assert (step.write, step.new, step.result) == (False, MISSING, None)
    assert events(step) == [state_event("state:deleted", None, None)]


def test_state_delete_of_a_stored_null() -> None:
    step = run("state::delete", KEY, None)
    assert (step.write, step.result) == (True, None)
    assert events(step) == [state_event("state:deleted", None, None)]


# ---------------------------------------------------------------------------- max_value_bytes


def test_e_acute_is_four_bytes_with_quotes() -> None:
    assert json_size("é") == 4
    assert json_size("\u20ac") == 5
    assert json_size("a\nb") == 6
    assert json_size(1e16) == 4  # serde_json/ryu writes 1e16, not 1e+16
    assert json_size({"a": [1, None]}) == len(b'{"a":[1,null]}')


def test_value_at_the_limit_passes_and_one_over_fails() -> None:
    step = run("state::set", {**KEY, "value": "é"}, MISSING, max_value_bytes=4)
    assert step.write is True
    with pytest.raises(StoreCallError) as caught:
        run("state::set", {**KEY, "value": "é"}, MISSING, max_value_bytes=3)
    assert caught.value.code == "VALUE_TOO_LARGE"
    assert (
        caught.value.message == "value of 4 bytes exceeds the configured max_value_bytes limit of 3"
    )


def test_value_too_large_message_of_the_vector() -> None:
    value = "a value that is definitely longer than ten bytes"
    with pytest.raises(StoreCallError) as caught:
        run("state::set", {**KEY, "value": value}, {"old": 1}, max_value_bytes=10)
    assert (
        caught.value.message
        == "value of 50 bytes exceeds the configured max_value_bytes limit of 10"
    )


@pytest.mark.parametrize(
    ("function_id", "payload"),
    [
        ("state::update", {**KEY, "ops": [{"type": "set", "path": "", "value": "x" * 100}]}),
        ("stream::set", {**ITEM, "data": "x" * 100}),
        ("stream::update", {**ITEM, "ops": [{"type": "set", "path": "", "value": "x" * 100}]}),
        ("state::delete", KEY),
    ],
)
def test_only_state_set_is_size_guarded(function_id: str, payload: dict[str, Any]) -> None:
    step = run(function_id, payload, "y" * 100, max_value_bytes=1)
    assert step.events


def test_no_limit_means_no_check() -> None:
    assert run("state::set", {**KEY, "value": "x" * 10_000}, MISSING).write is True


# ------------------------------------------------------------------------------------ shapes


def test_transition_is_frozen() -> None:
    step = run("stream::set", {**ITEM, "data": 1}, MISSING)
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.write = False  # type: ignore[misc]


@pytest.mark.parametrize(
    ("function_id", "payload"),
    [
        ("stream::get", ITEM),
        ("stream::list", {"stream_name": "s", "group_id": "g"}),
        ("stream::list_all", {}),
        ("state::list_groups", {}),
    ],
)
def test_reads_are_not_transitions(function_id: str, payload: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="write request"):
        transition(decode_call(function_id, payload), MISSING, NOW)


def test_exact_values_survive_the_wire() -> None:
    value = {
        "big": 2**63 + 7,
        "huge": 2**64 - 1,
        "neg": -(2**63),
        "float": 0.1,
        "empty_list": [],
        "empty_map": {},
    }
    step = run("stream::set", {**ITEM, "data": value}, MISSING)
    assert same_json(wire(step.result)["new_value"], value)
    ops = [{"type": "increment", "path": "big", "by": 1}]
    step = run("stream::update", {**ITEM, "ops": ops}, value)
    new = wire(step.result)["new_value"]
    assert new["big"] == 2**63 + 8
    assert new["empty_list"] == [] and new["empty_map"] == {}
