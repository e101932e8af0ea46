"""The same behaviour from every backend: results, events, bad payloads, exact values."""

from __future__ import annotations

from typing import Any

import pytest

from iii_core.backends import ChangeEvent, Store
from iii_core.state import StateGetInput, StateSetInput, StateTriggerConfig, StateUpdateInput
from iii_core.store import StoreCallError
from iii_core.stream import (
    StreamChangeEvent,
    StreamDeleteInput,
    StreamGetInput,
    StreamListInput,
    StreamSetInput,
    StreamTriggerConfig,
    StreamUpdateInput,
    UpdateAppend,
    UpdateIncrement,
)
from tests.backends.async_facade import keeps_memory_order
from tests.jsonvalues import same_json

ITEM = {"stream_name": "chat", "group_id": "room", "item_id": "m1"}


def test_stream_set_update_delete_with_events(store: Store) -> None:
    seen: list[ChangeEvent] = []
    store.subscribe(StreamTriggerConfig(stream_name="chat"), seen.append)
    assert store.call("stream::set", {**ITEM, "data": {"n": 1}}) == {
        "old_value": None,
        "new_value": {"n": 1},
    }
    assert store.call(
        "stream::update", {**ITEM, "ops": [{"type": "increment", "path": "n", "by": 2}]}
    ) == {"old_value": {"n": 1}, "new_value": {"n": 3}}
    assert store.call("stream::get", ITEM) == {"n": 3}
    assert store.call("stream::delete", ITEM) == {"old_value": {"n": 3}}
    assert store.call("stream::delete", ITEM) == {"old_value": None}
    assert store.call("stream::get", ITEM) is None
    store.sync_events()
    assert [(e.event.type, e.event.data) for e in seen if isinstance(e, StreamChangeEvent)] == [
        ("create", {"n": 1}),
        ("update", {"n": 3}),
        ("delete", {"n": 3}),
    ]
    assert all(isinstance(e, StreamChangeEvent) and e.id == "m1" for e in seen)


def test_state_events_and_shapes(store: Store) -> None:
    seen: list[ChangeEvent] = []
    store.subscribe(StateTriggerConfig(scope="s"), seen.append)
    store.subscribe(StateTriggerConfig(scope="other"), seen.append)
    assert store.call("state::delete", {"scope": "s", "key": "k"}) is None
    assert store.call("state::set", {"scope": "s", "key": "k", "data": [1]}) == {
        "old_value": None,
        "new_value": [1],
    }
    result = store.call(
        "state::update", {"scope": "s", "key": "k", "ops": [{"type": "set", "path": "x"}]}
    )
    assert result["errors"][0]["code"] == "set.target_not_object"
    assert store.call("state::delete", {"scope": "s", "key": "k"}) == [1]
    store.sync_events()
    assert [(e.event_type, e.old_value, e.new_value) for e in seen] == [  # type: ignore[union-attr]
        ("state:deleted", None, None),
        ("state:created", None, [1]),
        ("state:updated", [1], [1]),
        ("state:deleted", [1], None),
    ]


def test_values_come_back_exactly(store: Store) -> None:
    value = {
        "big": 2**63 + 7,
        "bigger": 2**64 - 1,
        "past53": 2**53 + 1,
        "neg": -(2**63),
        "float": 2.0,
        "empty_list": [],
        "empty_object": {},
        "nested": {"a": [[], {}]},
        "text": "é😀",
    }
    store.call("stream::set", {**ITEM, "data": value})
    assert same_json(store.call("stream::get", ITEM), value)
    store.call("stream::update", {**ITEM, "ops": [{"type": "increment", "path": "big", "by": 1}]})
    got = store.call("stream::get", ITEM)
    assert same_json(got, {**value, "big": 2**63 + 8})
    assert same_json(store.call("stream::list", {"stream_name": "chat", "group_id": "room"}), [got])


@pytest.mark.parametrize(
    ("function_id", "payload", "code"),
    [
        (
            "stream::set",
            {"stream_name": "chat", "group_id": "room", "data": 1},
            "deserialization_error",
        ),
        (
            "stream::update",
            {**ITEM, "ops": [{"type": "increment", "path": "n", "by": 1.5}]},
            "deserialization_error",
        ),
        ("stream::update", {**ITEM, "ops": [{"type": "bogus"}]}, "deserialization_error"),
        ("state::set", {"scope": "s", "key": "k", "value": 1, "data": 2}, "deserialization_error"),
        (
            "stream::get",
            {"stream_name": 1, "group_id": "g", "item_id": "i"},
            "deserialization_error",
        ),
        ("stream::nope", {}, "function_not_found"),
    ],
)
def test_bad_payloads_raise_typed_errors_and_change_nothing(
    store: Store, function_id: str, payload: Any, code: str
) -> None:
    store.call("stream::set", {**ITEM, "data": {"n": 1}})
    seen: list[ChangeEvent] = []
    store.watch(seen.append)
    with pytest.raises(StoreCallError) as raised:
        store.call(function_id, payload)
    assert raised.value.code == code
    assert store.call("stream::get", ITEM) == {"n": 1}
    assert store.call("state::get", {"scope": "s", "key": "k"}) is None
    store.sync_events()
    assert seen == []


def test_payload_is_stored_as_its_json_encoding(store: Store) -> None:
    store.call("stream::set", {**ITEM, "data": {"tuple": (1, 2), "set": {3}}})
    assert store.call("stream::get", ITEM) == {"tuple": [1, 2], "set": [3]}
    with pytest.raises(StoreCallError) as raised:
        store.call("stream::set", {**ITEM, "data": object()})
    assert raised.value.code == "deserialization_error"
    assert store.call("stream::get", ITEM) == {"tuple": [1, 2], "set": [3]}


def test_typed_methods(store: Store) -> None:
    result = store.stream_set(StreamSetInput(**ITEM, data={"t": "a"}))
    assert result.new_value == {"t": "a"}
    updated = store.stream_update(
        StreamUpdateInput(
            **ITEM, ops=[UpdateAppend(path="t", value="b"), UpdateIncrement(path="t", by=1)]
        )
    )
    assert updated.new_value == {"t": "ab"}
    assert [e.code for e in updated.errors] == ["increment.not_number"]  # type: ignore[union-attr]
    assert store.stream_get(StreamGetInput(**ITEM)) == {"t": "ab"}
    assert store.stream_list(StreamListInput(stream_name="chat", group_id="room")) == [{"t": "ab"}]
    assert store.stream_delete(StreamDeleteInput(**ITEM)).old_value == {"t": "ab"}
    store.state_set(StateSetInput(scope="s", key="k", value=1))
    store.state_update(StateUpdateInput(scope="s", key="k", ops=[UpdateIncrement(path="", by=2)]))
    assert store.state_get(StateGetInput(scope="s", key="k")) == 3
    assert store.state_list_groups().groups == ["s"]


def test_returned_values_are_private_copies(store: Store) -> None:
    data = {"list": [1]}
    store.call("stream::set", {**ITEM, "data": data})
    data["list"].append(2)
    got = store.call("stream::get", ITEM)
    got["list"].append(3)
    assert store.call("stream::get", ITEM) == {"list": [1]}


def test_a_failing_handler_does_not_stop_others_or_the_write(store: Store) -> None:
    seen: list[ChangeEvent] = []

    def broken(event: ChangeEvent) -> None:
        raise RuntimeError("handler bug")

    store.watch(broken)
    store.watch(seen.append)
    store.call("stream::set", {**ITEM, "data": 1})
    store.sync_events()
    assert len(seen) == 1
    assert store.call("stream::get", ITEM) == 1


def test_unsubscribe(store: Store) -> None:
    seen: list[ChangeEvent] = []
    unsubscribe = store.subscribe(
        StreamTriggerConfig(stream_name="chat", item_id="m1"), seen.append
    )
    store.call("stream::set", {**ITEM, "data": 1})
    store.call("stream::set", {**ITEM, "item_id": "m2", "data": 1})
    store.sync_events()
    unsubscribe()
    store.call("stream::set", {**ITEM, "data": 2})
    store.sync_events()
    assert len(seen) == 1


def test_list_order(store: Store) -> None:
    for item in ("c", "a", "b"):
        store.call("stream::set", {**ITEM, "item_id": item, "data": item})
    store.call("stream::set", {**ITEM, "item_id": "c", "data": "c2"})
    listed = store.call("stream::list", {"stream_name": "chat", "group_id": "room"})
    if keeps_memory_order(store):
        assert listed == ["c2", "a", "b"]
    else:
        assert sorted(listed) == ["a", "b", "c2"]
