"""decode_call: the engine's serde messages, case by case."""

from __future__ import annotations

from typing import Any

import pytest
from msgspec import UNSET

from iii_core._generated.state import (
    StateDeleteInput,
    StateGetInput,
    StateListGroupsInput,
    StateListInput,
    StateSetInput,
    StateUpdateInput,
)
from iii_core._generated.stream import (
    StreamDeleteInput,
    StreamGetInput,
    StreamListGroupsInput,
    StreamListInput,
    StreamSendInput,
    StreamSetInput,
    StreamUpdateInput,
    UpdateAppend,
    UpdateDecrement,
    UpdateIncrement,
    UpdateMerge,
    UpdateRemove,
    UpdateSet,
)
from iii_core.store import StoreCallError, StreamListAllInput, decode_call
from tests.jsonvalues import same_json, snapshot

ITEM = {"stream_name": "s", "group_id": "g", "item_id": "i"}
KEY = {"scope": "sc", "key": "k"}


def reason(function_id: str, payload: Any) -> str:
    with pytest.raises(StoreCallError) as caught:
        decode_call(function_id, payload)
    assert caught.value.code == "deserialization_error"
    prefix = f"Failed to deserialize input for {function_id}: "
    assert caught.value.message.startswith(prefix)
    return caught.value.message[len(prefix) :]


@pytest.mark.parametrize(
    ("function_id", "payload", "expected"),
    [
        ("stream::set", {**ITEM, "data": 1}, StreamSetInput(**ITEM, data=1)),
        ("stream::set", {**ITEM, "data": None}, StreamSetInput(**ITEM, data=None)),
        ("stream::get", ITEM, StreamGetInput(**ITEM)),
        ("stream::delete", ITEM, StreamDeleteInput(**ITEM)),
        (
            "stream::list",
            {"stream_name": "s", "group_id": "g"},
            StreamListInput(stream_name="s", group_id="g"),
        ),
        ("stream::list_groups", {"stream_name": "s"}, StreamListGroupsInput(stream_name="s")),
        ("stream::list_all", {}, StreamListAllInput()),
        (
            "stream::send",
            {"stream_name": "s", "group_id": "g", "type": "t", "data": [1]},
            StreamSendInput(stream_name="s", group_id="g", type="t", data=[1], id=None),
        ),
        (
            "stream::send",
            {"stream_name": "s", "group_id": "g", "type": "t", "data": 1, "id": None},
            StreamSendInput(stream_name="s", group_id="g", type="t", data=1, id=None),
        ),
        (
            "stream::send",
            {"stream_name": "s", "group_id": "g", "type": "t", "data": 1, "id": "x"},
            StreamSendInput(stream_name="s", group_id="g", type="t", data=1, id="x"),
        ),
        ("stream::update", {**ITEM, "ops": []}, StreamUpdateInput(**ITEM, ops=[])),
        ("state::set", {**KEY, "value": {"a": 1}}, StateSetInput(**KEY, value={"a": 1})),
        ("state::set", {**KEY, "data": "hello"}, StateSetInput(**KEY, value="hello")),
        ("state::get", KEY, StateGetInput(**KEY)),
        ("state::delete", KEY, StateDeleteInput(**KEY)),
        ("state::update", {**KEY, "ops": []}, StateUpdateInput(**KEY, ops=[])),
        ("state::list", {"scope": "sc"}, StateListInput(scope="sc")),
        ("state::list_groups", {}, StateListGroupsInput()),
    ],
)
def test_decodes_into_the_generated_struct(function_id: str, payload: Any, expected: Any) -> None:
    before = snapshot(payload)
    decoded = decode_call(function_id, {**payload, "unknown_field": [1, 2]})
    assert type(decoded) is type(expected)
    assert decoded == expected
    assert same_json(payload, before)


def test_ops_decode_into_op_structs() -> None:
    ops = [
        {"type": "set", "path": "a"},
        {"type": "set", "path": "", "value": 2, "by": "ignored"},
        {"type": "merge", "value": {"x": 1}},
        {"type": "merge", "path": None, "value": {}},
        {"type": "merge", "path": ["a", "b"], "value": {}},
        {"type": "increment", "path": "n", "by": 2},
        {"type": "decrement", "path": "n", "by": -(2**63)},
        {"type": "append", "path": "l", "value": None},
        {"type": "remove", "path": "a"},
    ]
    before = snapshot(ops)
    request = decode_call("stream::update", {**ITEM, "ops": ops})
    assert isinstance(request, StreamUpdateInput)
    assert request.ops == [
        UpdateSet(path="a", value=None),
        UpdateSet(path="", value=2),
        UpdateMerge(value={"x": 1}, path=UNSET),
        UpdateMerge(value={}, path=UNSET),
        UpdateMerge(value={}, path=["a", "b"]),
        UpdateIncrement(path="n", by=2),
        UpdateDecrement(path="n", by=-(2**63)),
        UpdateAppend(value=None, path="l"),
        UpdateRemove(path="a"),
    ]
    assert same_json(ops, before)


def test_unknown_function() -> None:
    with pytest.raises(StoreCallError) as caught:
        decode_call("stream::nope", {})
    assert caught.value.code == "function_not_found"
    assert caught.value.message == "Function stream::nope not found"
    assert str(caught.value) == "Function stream::nope not found [function_not_found]"


@pytest.mark.parametrize(
    ("function_id", "payload", "expected"),
    [
        # The vectors' cases.
        (
            "stream::set",
            {"stream_name": "s", "group_id": "g", "data": 1},
            "missing field `item_id`",
        ),
        (
            "stream::get",
            {"stream_name": 1, "group_id": "g", "item_id": "i"},
            "invalid type: integer `1`, expected a string",
        ),
        ("stream::set", ITEM, "missing field `data`"),
        # The data alias of state::set (errata 3).
        ("state::set", {**KEY, "value": 1, "data": 2}, "duplicate field `value`"),
        ("state::set", KEY, "missing field `value`"),
        ("state::set", {"key": "k", "data": 1}, "missing field `scope`"),
        # Object inputs required, null refused (errata 4).
        ("stream::list_all", None, "invalid type: null, expected struct StreamListAllInput"),
        ("state::list_groups", None, "invalid type: null, expected struct StateListGroupsInput"),
        ("stream::get", "abc", 'invalid type: string "abc", expected struct StreamGetInput'),
        ("stream::get", True, "invalid type: boolean `true`, expected struct StreamGetInput"),
        (
            "state::list",
            1.5,
            "invalid type: floating point `1.5`, expected struct StateGetGroupInput",
        ),
        ("state::get", 7, "invalid type: integer `7`, expected struct StateGetInput"),
        # Field types.
        ("stream::get", {**ITEM, "item_id": None}, "invalid type: null, expected a string"),
        (
            "stream::get",
            {**ITEM, "item_id": True},
            "invalid type: boolean `true`, expected a string",
        ),
        ("stream::get", {**ITEM, "item_id": [1]}, "invalid type: sequence, expected a string"),
        ("stream::get", {**ITEM, "item_id": {"a": 1}}, "invalid type: map, expected a string"),
        (
            "stream::get",
            {**ITEM, "item_id": 1.0},
            "invalid type: floating point `1.0`, expected a string",
        ),
        (
            "stream::send",
            {"stream_name": "s", "group_id": "g", "type": "t", "data": 1, "id": 3},
            "invalid type: integer `3`, expected a string",
        ),
        ("stream::send", {"stream_name": "s", "group_id": "g", "data": 1}, "missing field `type`"),
        (
            "stream::send",
            {"stream_name": "s", "group_id": "g", "type": "t"},
            "missing field `data`",
        ),
        # serde visits keys in sorted order (BTreeMap), then reports missing fields in order.
        (
            "stream::get",
            {"stream_name": 1, "group_id": 2, "item_id": "i"},
            "invalid type: integer `2`, expected a string",
        ),
        ("stream::get", {"stream_name": 1}, "invalid type: integer `1`, expected a string"),
        ("stream::get", {}, "missing field `stream_name`"),
        ("stream::get", {"item_id": "i"}, "missing field `stream_name`"),
        (
            "state::set",
            {"data": 1, "key": 5, "value": 2},
            "invalid type: integer `5`, expected a string",
        ),
        # Ops: the update engine's decoder, in sorted key order with the other fields.
        (
            "stream::update",
            {**ITEM, "ops": [{"type": "multiply", "path": "a"}]},
            "unknown variant `multiply`, expected one of `set`, `merge`, `increment`, `decrement`, `append`, `remove`",
        ),
        (
            "stream::update",
            {**ITEM, "ops": [{"type": "increment", "path": "a", "by": 1.5}]},
            "invalid type: floating point `1.5`, expected i64",
        ),
        (
            "stream::update",
            {**ITEM, "ops": [{"type": "increment", "path": ["a"], "by": 1}]},
            "invalid type: sequence, expected a string",
        ),
        (
            "stream::update",
            {**ITEM, "ops": {"type": "set"}},
            "invalid type: map, expected a sequence",
        ),
        ("stream::update", {**ITEM, "ops": None}, "invalid type: null, expected a sequence"),
        ("state::update", KEY, "missing field `ops`"),
        ("state::update", {**KEY, "ops": [{"path": "a"}]}, "missing field `type`"),
        (
            "stream::update",
            {"stream_name": 5, "group_id": "g", "item_id": "i", "ops": [{"type": "x"}]},
            "unknown variant `x`, expected one of `set`, `merge`, `increment`, `decrement`, `append`, `remove`",
        ),
        (
            "stream::update",
            {"stream_name": "s", "group_id": 1, "item_id": "i", "ops": [{"type": "x"}]},
            "invalid type: integer `1`, expected a string",
        ),
        # Arrays decode positionally, as serde derives visit_seq for structs.
        (
            "stream::set",
            ["s", "g"],
            "invalid length 2, expected struct StreamSetInput with 4 elements",
        ),
        (
            "stream::set",
            ["s", "g", "i", 1, 2],
            "invalid length 5, expected fewer elements in array",
        ),
        ("state::list", [], "invalid length 0, expected struct StateGetGroupInput with 1 element"),
        ("stream::list_all", [1], "invalid length 1, expected fewer elements in array"),
        ("stream::get", ["s", 2, "i"], "invalid type: integer `2`, expected a string"),
    ],
)
def test_deserialization_errors(function_id: str, payload: Any, expected: str) -> None:
    before = snapshot(payload)
    assert reason(function_id, payload) == expected
    assert same_json(payload, before)


def test_arrays_decode_positionally() -> None:
    assert decode_call("stream::set", ["s", "g", "i", {"a": 1}]) == StreamSetInput(
        stream_name="s", group_id="g", item_id="i", data={"a": 1}
    )
    assert decode_call("state::set", ["sc", "k", None]) == StateSetInput(
        scope="sc", key="k", value=None
    )
    assert decode_call("stream::send", ["s", "g", None, "t", 1]) == StreamSendInput(
        stream_name="s", group_id="g", id=None, type="t", data=1
    )
    assert decode_call("stream::list_all", []) == StreamListAllInput()
    assert decode_call("state::list_groups", []) == StateListGroupsInput()


def test_the_error_is_an_exception_with_code_and_message() -> None:
    import pickle

    error = StoreCallError("VALUE_TOO_LARGE", "too big")
    assert isinstance(error, Exception)
    assert (error.code, error.message, str(error)) == (
        "VALUE_TOO_LARGE",
        "too big",
        "too big [VALUE_TOO_LARGE]",
    )
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.code, copy.message) == ("VALUE_TOO_LARGE", "too big")
    # A bad-input code makes it the ValueError subclass, which its repr names.
    assert repr(error) == "InvalidStoreCall(code='VALUE_TOO_LARGE', message='too big')"
