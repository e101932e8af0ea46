"""Our own cases for every branch of the update-op semantics, beyond the shared vectors."""

from __future__ import annotations

from typing import Any

import pytest

from iii_core import DOC_URL, MISSING, InvalidOps, apply_update_ops
from iii_core.stream import (
    UpdateAppend,
    UpdateDecrement,
    UpdateIncrement,
    UpdateMerge,
    UpdateRemove,
    UpdateSet,
)
from tests.jsonvalues import same_json

I64_MAX, U64_MAX = 2**63 - 1, 2**64 - 1


def apply(old: Any, *ops: dict[str, Any]) -> tuple[Any, list[tuple[int, str, str]]]:
    new, errors = apply_update_ops(old, list(ops))
    assert all(e.doc_url == DOC_URL for e in errors)
    return new, [(e.op_index, e.code, e.message) for e in errors]


def test_missing_sentinel() -> None:
    assert repr(MISSING) == "MISSING"
    assert not MISSING
    assert apply(MISSING) == ({}, [])
    assert apply(None) == (None, [])


class TestSharing:
    def test_untouched_subtrees_are_shared_and_touched_path_is_copied(self) -> None:
        old: dict[str, Any] = {"keep": {"deep": [1, 2]}, "edit": {"inner": {"x": 1}, "side": [0]}}
        new: Any
        new, errors = apply(old, {"type": "merge", "path": ["edit", "inner"], "value": {"y": 2}})
        assert errors == []
        assert new["keep"] is old["keep"]
        assert new["edit"]["side"] is old["edit"]["side"]
        assert new["edit"] is not old["edit"]
        assert new["edit"]["inner"] is not old["edit"]["inner"]
        assert old == {"keep": {"deep": [1, 2]}, "edit": {"inner": {"x": 1}, "side": [0]}}

    def test_no_ops_returns_the_old_value_itself(self) -> None:
        old = {"a": [1]}
        assert apply(old)[0] is old

    def test_set_value_is_not_mutated_by_later_ops(self) -> None:
        value = {"list": [1]}
        ops = [
            {"type": "set", "path": "v", "value": value},
            {"type": "append", "path": ["v", "list"], "value": 2},
            {"type": "merge", "path": "v", "value": {"z": 1}},
        ]
        new, errors = apply_update_ops({}, ops)
        assert errors == []
        assert new == {"v": {"list": [1, 2], "z": 1}}
        assert value == {"list": [1]}

    def test_same_value_object_inserted_twice_is_copied_independently(self) -> None:
        shared: list[int] = []
        new, _ = apply(
            {},
            {"type": "set", "path": "a", "value": shared},
            {"type": "set", "path": "b", "value": shared},
            {"type": "append", "path": "a", "value": 1},
        )
        assert new == {"a": [1], "b": []}
        assert shared == []


class TestNumbers:
    @pytest.mark.parametrize(
        ("old", "by", "expected"),
        [
            (2.0, 1, 3.0),
            (I64_MAX, 1, I64_MAX + 1),
            (I64_MAX, I64_MAX, 2 * I64_MAX),
            (I64_MAX + 5, -10, I64_MAX - 5),
            (U64_MAX - 1, 1, U64_MAX),
            (-(2**63), 0, -(2**63)),
            # An integer beyond u64 is a float to serde_json, so it takes the float path.
            (U64_MAX + 1, 1, float(U64_MAX + 1) + 1.0),
        ],
    )
    def test_increment_kinds(self, old: Any, by: int, expected: Any) -> None:
        new, errors = apply({"n": old}, {"type": "increment", "path": "n", "by": by})
        assert errors == []
        assert same_json(new, {"n": expected})

    @pytest.mark.parametrize(
        ("kind", "old", "by"),
        [
            ("increment", U64_MAX, 1),
            ("increment", -(2**63), -1),
            ("increment", -1, -(2**63)),
            ("decrement", I64_MAX + 1, -(2**63)),
            ("decrement", -(2**63), 1),
            ("decrement", U64_MAX, -1),
        ],
    )
    def test_overflow_is_not_number(self, kind: str, old: int, by: int) -> None:
        new, errors = apply({"n": old}, {"type": kind, "path": "n", "by": by})
        assert new == {"n": old}
        assert errors == [(0, f"{kind}.not_number", "Expected number at path 'n', got number.")]

    def test_u64_values_come_back_into_i64(self) -> None:
        assert apply({"n": I64_MAX + 10}, {"type": "decrement", "path": "n", "by": 11}) == (
            {"n": I64_MAX - 1},
            [],
        )
        assert apply({"n": -1}, {"type": "decrement", "path": "n", "by": -(2**63)}) == (
            {"n": I64_MAX},
            [],
        )

    def test_bool_and_string_are_not_numbers(self) -> None:
        _, errors = apply(
            {"b": True, "s": "5"},
            {"type": "increment", "path": "b", "by": 1},
            {"type": "decrement", "path": "s", "by": 1},
        )
        assert errors == [
            (0, "increment.not_number", "Expected number at path 'b', got boolean."),
            (1, "decrement.not_number", "Expected number at path 's', got string."),
        ]

    def test_missing_decrement_of_i64_min_is_u64(self) -> None:
        assert apply(MISSING, {"type": "decrement", "path": "", "by": -(2**63)}) == (2**63, [])
        assert apply({}, {"type": "decrement", "path": "k", "by": -(2**63)}) == ({"k": 2**63}, [])


class TestManyAppendsToOneString:
    def test_field_string_built_in_parts(self) -> None:
        ops = [{"type": "append", "path": "t", "value": str(i)} for i in range(50)]
        new, errors = apply({"t": ">"}, *ops)
        assert errors == []
        assert new == {"t": ">" + "".join(str(i) for i in range(50))}

    def test_root_string_and_type_mismatch_label(self) -> None:
        new, errors = apply(
            "a",
            {"type": "append", "value": "b"},
            {"type": "append", "value": 1},
            {"type": "append", "path": "", "value": "c"},
            {"type": "increment", "path": "", "by": 1},
            {"type": "set", "path": "k", "value": 1},
        )
        assert new == "abc"
        assert errors == [
            (1, "append.type_mismatch", "Expected string append value at path 'root', got number."),
            (3, "increment.not_number", "Expected number at path 'root', got string."),
            (
                4,
                "set.target_not_object",
                "Cannot set at path 'k': target is string, expected object.",
            ),
        ]

    def test_replaced_text_is_not_resurrected(self) -> None:
        new, _ = apply(
            {"t": "a"},
            {"type": "append", "path": "t", "value": "b"},
            {"type": "append", "path": "t", "value": "c"},
            {"type": "set", "path": "t", "value": 5},
            {"type": "increment", "path": "t", "by": 1},
        )
        assert new == {"t": 6}

    def test_nested_text_and_path_merge_over_it(self) -> None:
        new, _ = apply(
            {"a": {"t": "x"}},
            {"type": "append", "path": ["a", "t"], "value": "y"},
            {"type": "append", "path": ["a", "t"], "value": "z"},
            {"type": "merge", "path": ["a", "t", "q"], "value": {"k": 1}},
        )
        assert new == {"a": {"t": {"q": {"k": 1}}}}

    def test_text_target_type_name_in_messages(self) -> None:
        new, errors = apply(
            {"t": "x"},
            {"type": "append", "path": "t", "value": "y"},
            {"type": "append", "path": ["t", "u"], "value": 1},
            {"type": "append", "path": "t", "value": None},
        )
        assert new == {"t": {"u": [1]}}
        assert errors == [
            (
                2,
                "append.type_mismatch",
                "Cannot append at path 't': target is object, expected array, string, null, or missing field.",
            )
        ]
        new, errors = apply(
            "x",
            {"type": "append", "value": "y"},
            {"type": "append", "path": ["t", "u"], "value": 1},
        )
        assert new == "xy"
        assert errors == [
            (
                1,
                "append.target_not_object",
                "Cannot append at path '[t, u]': target is string, expected object.",
            )
        ]


class TestInvalidOps:
    @pytest.mark.parametrize(
        ("op", "field", "reason"),
        [
            (
                {"type": "bogus"},
                "type",
                "unknown variant `bogus`, expected one of `set`, `merge`, `increment`, `decrement`, `append`, `remove`",
            ),
            ({"path": "a"}, "type", "missing field `type`"),
            ({"type": 1}, "type", "invalid type: integer `1`, expected variant identifier"),
            ({"type": "set", "value": 1}, "path", "missing field `path`"),
            ({"type": "remove", "path": None}, "path", "invalid type: null, expected a string"),
            ({"type": "set", "path": ["a"]}, "path", "invalid type: sequence, expected a string"),
            ({"type": "increment", "path": "a"}, "by", "missing field `by`"),
            (
                {"type": "increment", "path": "a", "by": 1.0},
                "by",
                "invalid type: floating point `1.0`, expected i64",
            ),
            (
                {"type": "decrement", "path": "a", "by": "1"},
                "by",
                'invalid type: string "1", expected i64',
            ),
            (
                {"type": "increment", "path": "a", "by": float("inf")},
                "by",
                "invalid type: floating point `inf`, expected i64",
            ),
            (
                {"type": "increment", "path": "a", "by": True},
                "by",
                "invalid type: boolean `true`, expected i64",
            ),
            (
                {"type": "increment", "path": "a", "by": 2**63},
                "by",
                "invalid value: integer `9223372036854775808`, expected i64",
            ),
            ({"type": "merge", "path": "a"}, "value", "missing field `value`"),
            ({"type": "append"}, "value", "missing field `value`"),
            (
                {"type": "merge", "path": ["a", 1], "value": {}},
                "path",
                "data did not match any variant of untagged enum MergePath",
            ),
            (
                {"type": "append", "path": 5, "value": 1},
                "path",
                "data did not match any variant of untagged enum MergePath",
            ),
        ],
    )
    def test_reason_names_index_and_field(
        self, op: dict[str, Any], field: str, reason: str
    ) -> None:
        ops = [{"type": "set", "path": "ok", "value": 1}, op]
        with pytest.raises(InvalidOps) as raised:
            apply_update_ops({}, ops)
        assert (raised.value.op_index, raised.value.field, raised.value.reason) == (
            1,
            field,
            reason,
        )
        assert raised.value.message == f"ops[1].{field}: {reason}"

    @pytest.mark.parametrize("ops", [{"type": "set"}, "ops", b"[]", 5, None])
    def test_ops_must_be_a_sequence(self, ops: Any) -> None:
        with pytest.raises(InvalidOps) as raised:
            apply_update_ops({}, ops)
        assert raised.value.op_index is None

    def test_op_that_is_not_an_object(self) -> None:
        with pytest.raises(InvalidOps, match=r"^ops\[0\]: invalid type: sequence"):
            apply_update_ops({}, [["set", "a"]])

    def test_hand_built_structs_are_checked_like_dicts(self) -> None:
        with pytest.raises(InvalidOps, match="expected i64"):
            apply_update_ops({}, [UpdateIncrement(path="a", by=1.5)])  # type: ignore[arg-type]
        with pytest.raises(InvalidOps, match="expected a string"):
            apply_update_ops({}, [UpdateRemove(path=None)])  # type: ignore[arg-type]

    def test_unknown_fields_are_ignored(self) -> None:
        assert apply({}, {"type": "set", "path": "a", "value": 1, "by": 5, "extra": []}) == (
            {"a": 1},
            [],
        )


def test_structs_and_dicts_mix_in_one_call() -> None:
    ops: list[Any] = [
        UpdateSet(path="a", value=1),
        {"type": "increment", "path": "a", "by": 2},
        UpdateDecrement(path="a", by=1),
        UpdateMerge(path=["m", "n"], value={"k": True}),
        UpdateAppend(value="ignored-for-object-root"),
        UpdateAppend(path="list", value=None),
        {"type": "remove", "path": "gone"},
        UpdateSet(path="unset"),
    ]
    new, errors = apply_update_ops({"gone": 1}, ops)
    assert new == {"a": 2, "m": {"n": {"k": True}}, "list": [None], "unset": None}
    assert [(e.op_index, e.code) for e in errors] == [(4, "append.type_mismatch")]
