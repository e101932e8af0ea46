"""Reads, the key layout and encode_result: tables of the engine's shapes and quirks."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from iii_core._generated.state import StateListGroupsInput, StateListGroupsResult
from iii_core._generated.stream import StreamListGroupsInput
from iii_core.store import (
    StreamListAllInput,
    decode_call,
    encode_result,
    item_location,
    list_hash_key,
    list_hash_prefix,
    read_item,
    read_list,
    read_list_all,
    read_list_groups,
    transition,
)
from iii_core.update import MISSING


@pytest.mark.parametrize(
    ("function_id", "payload", "location"),
    [
        (
            "stream::set",
            {"stream_name": "chat", "group_id": "room-1", "item_id": "m", "data": 1},
            ("stream:chat:room-1", "m"),
        ),
        ("stream::get", {"stream_name": "a:b", "group_id": "", "item_id": ""}, ("stream:a:b:", "")),
        (
            "stream::delete",
            {"stream_name": "s", "group_id": "g", "item_id": "i"},
            ("stream:s:g", "i"),
        ),
        (
            "stream::update",
            {"stream_name": "s", "group_id": "g", "item_id": "i", "ops": []},
            ("stream:s:g", "i"),
        ),
        ("state::set", {"scope": "users", "key": "u1", "value": 1}, ("state:users", "u1")),
        ("state::get", {"scope": "a:b", "key": "k"}, ("state:a:b", "k")),
        ("state::delete", {"scope": "", "key": ""}, ("state:", "")),
        ("state::update", {"scope": "s", "key": "k", "ops": []}, ("state:s", "k")),
        (
            "stream::send",
            {"stream_name": "s", "group_id": "g", "id": "i", "type": "t", "data": 1},
            None,
        ),
        ("stream::list", {"stream_name": "s", "group_id": "g"}, None),
        ("stream::list_groups", {"stream_name": "s"}, None),
        ("stream::list_all", {}, None),
        ("state::list", {"scope": "s"}, None),
        ("state::list_groups", {}, None),
    ],
)
def test_item_location(function_id: str, payload: dict[str, Any], location: Any) -> None:
    assert item_location(decode_call(function_id, payload)) == location


def test_list_keys_and_prefixes() -> None:
    assert (
        list_hash_key(decode_call("stream::list", {"stream_name": "s", "group_id": "g"}))
        == "stream:s:g"
    )
    assert list_hash_key(decode_call("state::list", {"scope": "sc"})) == "state:sc"
    assert list_hash_prefix(StreamListGroupsInput(stream_name="orders")) == "stream:orders:"
    assert list_hash_prefix(StateListGroupsInput()) == "state:"
    assert list_hash_prefix(None) == "stream:"
    assert list_hash_prefix(StreamListAllInput()) == "stream:"


def test_get_returns_the_value_or_null() -> None:
    request = decode_call("state::get", {"scope": "s", "key": "k"})
    assert read_item(request, MISSING) is None
    assert read_item(request, None) is None
    value = {"a": [1]}
    assert read_item(request, value) is value


def test_list_keeps_the_given_order() -> None:
    request = decode_call("stream::list", {"stream_name": "s", "group_id": "g"})
    assert read_list(request, iter([3, {"a": 1}, None])) == [3, {"a": 1}, None]
    assert read_list(request, []) == []


def test_stream_list_groups_strips_the_prefix_without_sorting_or_splitting() -> None:
    keys = [
        "stream:orders:beta",
        "stream:orders:alpha",
        "stream:orders:a:b",
        "stream:ordersx:g",
        "state:orders",
    ]
    request = StreamListGroupsInput(stream_name="orders")
    assert read_list_groups(request, keys) == ["beta", "alpha", "a:b"]
    # Stream "a:b" group "g" leaks into stream "a" as group "b:g" (the vectors' colon leak).
    assert read_list_groups(StreamListGroupsInput(stream_name="a"), ["stream:a:b:g"]) == ["b:g"]
    assert read_list_groups(StreamListGroupsInput(stream_name="none"), keys) == []


def test_state_list_groups_sorts_and_deduplicates() -> None:
    result = read_list_groups(
        StateListGroupsInput(),
        ["state:gamma", "state:alpha", "stream:s:g", "state:beta", "state:alpha"],
    )
    assert result == StateListGroupsResult(groups=["alpha", "beta", "gamma"])
    assert encode_result(result) == b'{"groups":["alpha","beta","gamma"]}'
    assert encode_result(read_list_groups(StateListGroupsInput(), [])) == b'{"groups":[]}'


def test_list_all_shapes_and_quirks() -> None:
    keys = [
        "stream:orders:beta",
        "stream:orders:alpha",
        "stream:users:default",
        "state:x",
        "stream:orders:beta",
    ]
    assert msgspec.to_builtins(read_list_all(keys)) == {
        "stream": [
            {"id": "orders", "groups": ["alpha", "beta"]},
            {"id": "users", "groups": ["default"]},
        ],
        "count": 2,
    }
    # Errata 9: split on ':' and take parts 1 and 2 - names with ':' are mis-filed/truncated.
    assert msgspec.to_builtins(
        read_list_all(["stream:a:b:g", "stream:orders:region:us", "stream:orders:region:eu"])
    ) == {
        "stream": [{"id": "a", "groups": ["b"]}, {"id": "orders", "groups": ["region"]}],
        "count": 2,
    }
    assert msgspec.to_builtins(read_list_all(["stream:", "stream:x", "streams:a:b"])) == {
        "stream": [],
        "count": 0,
    }
    assert msgspec.to_builtins(read_list_all(["stream::"])) == {
        "stream": [{"id": "", "groups": [""]}],
        "count": 1,
    }


def test_encode_result_is_compact_sorted_and_omits_unset() -> None:
    update = decode_call(
        "stream::update", {"stream_name": "s", "group_id": "g", "item_id": "i", "ops": []}
    )
    step = transition(update, {"b": 1, "a": {"d": 2, "c": 3}}, 1)
    assert encode_result(step.result) == (
        b'{"old_value":{"a":{"c":3,"d":2},"b":1},"new_value":{"a":{"c":3,"d":2},"b":1}}'
    )
    assert encode_result(None) == b"null"
    assert encode_result([]) == b"[]"
    assert encode_result({"é": "\u2028"}) == '{"é":"\u2028"}'.encode()
    event = msgspec.json.decode(encode_result(step.events[0]))
    assert event["event"] == {"type": "update", "data": {"a": {"c": 3, "d": 2}, "b": 1}}
