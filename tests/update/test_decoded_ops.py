"""Decode once, apply later: ``decode_update_ops`` and ``DecodedOps``, and the op table."""

from __future__ import annotations

import sys
import types
from typing import Any, get_args

import pytest

from iii_core import MISSING
from iii_core._base import WireStruct
from iii_core.stream import UpdateIncrement, UpdateMerge, UpdateOp, UpdateSet
from iii_core.update import DecodedOps, InvalidOps, apply_update_ops, decode_update_ops
from iii_core.update._table import OPS, VARIANTS, _op_kind


def test_the_table_has_one_entry_per_generated_op_in_schema_order() -> None:
    structs = get_args(get_args(UpdateOp)[0])
    assert [kind.struct for kind in OPS] == list(structs)
    assert [kind.name for kind in OPS] == [s.__struct_config__.tag for s in structs]
    assert VARIANTS == "`set`, `merge`, `increment`, `decrement`, `append`, `remove`"
    assert len({kind.apply for kind in OPS}) == len(OPS)


def test_decoded_ops_apply_like_the_raw_ops_and_can_be_reused() -> None:
    ops: list[Any] = [
        {"type": "increment", "path": "n", "by": 2},
        UpdateMerge(path=["a", "b"], value={"x": 1}),
        {"type": "append", "path": "log", "value": "x"},
        {"type": "set", "path": "gone"},
    ]
    decoded = decode_update_ops(ops)
    assert isinstance(decoded, DecodedOps)
    assert len(decoded) == 4
    assert repr(decoded) == "<DecodedOps: 4 ops>"
    expected = apply_update_ops({"n": 1}, ops)
    assert apply_update_ops({"n": 1}, decoded) == expected
    assert apply_update_ops({"n": 1}, decoded) == expected  # decoding is not consumed
    assert apply_update_ops(MISSING, decoded) == apply_update_ops(MISSING, ops)
    assert decode_update_ops(decoded) is decoded


def test_structs_rebuild_the_typed_ops_from_the_decoded_fields() -> None:
    decoded = decode_update_ops(
        [
            {"type": "set", "path": "a", "extra": 1},
            {"type": "merge", "value": {}},
            UpdateIncrement(path="n", by=-3),
        ]
    )
    assert decoded.structs() == [
        UpdateSet(path="a", value=None),
        UpdateMerge(value={}),
        UpdateIncrement(path="n", by=-3),
    ]


def test_malformed_ops_fail_at_decode_with_the_engine_reason() -> None:
    with pytest.raises(InvalidOps) as caught:
        decode_update_ops([{"type": "set", "path": "a"}, {"type": "increment", "path": "a"}])
    assert (caught.value.op_index, caught.value.field, caught.value.reason) == (
        1,
        "by",
        "missing field `by`",
    )


def test_a_later_malformed_op_refuses_the_whole_call_though_earlier_ops_were_fine() -> None:
    old = {"n": 1}
    with pytest.raises(InvalidOps) as caught:
        apply_update_ops(old, [{"type": "increment", "path": "n", "by": 1}, {"type": "nope"}])
    assert caught.value.op_index == 1
    assert old == {"n": 1}


@pytest.mark.parametrize(
    ("by", "reason"),
    [
        (2**63, "invalid value: integer `9223372036854775808`, expected i64"),
        (2**64, "invalid type: floating point `18446744073709552000.0`, expected i64"),
        (-(2**63) - 1, "invalid type: floating point `-9223372036854776000.0`, expected i64"),
        (10**5000, "invalid type: number out of range, expected i64"),
        (1e20, "invalid type: floating point `100000000000000000000.0`, expected i64"),
        (True, "invalid type: boolean `true`, expected i64"),
    ],
    ids=["u64", "beyond-u64", "below-i64", "10**5000", "1e20", "bool"],
)
def test_by_outside_i64_is_invalid_ops_from_python_too(by: Any, reason: str) -> None:
    for op in ({"type": "increment", "path": "n", "by": by}, UpdateIncrement(path="n", by=by)):
        with pytest.raises(InvalidOps) as caught:
            apply_update_ops({}, [op])
        assert (caught.value.field, caught.value.reason) == ("by", reason)
        assert caught.value.code == "deserialization_error"


def test_python_ints_stay_exact_in_values() -> None:
    huge = 10**30
    new, errors = apply_update_ops({}, [{"type": "set", "path": "n", "value": huge}])
    assert errors == []
    assert new["n"] == huge
    assert type(new["n"]) is int


class UpdateDouble(WireStruct, kw_only=True, tag_field="type", tag="double"):
    """A hypothetical op, as codegen would write it: the table needs only its module."""

    path: str


def test_a_new_op_needs_only_its_module(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModuleNotFoundError, match=r"iii_core\.update\._ops\.double"):
        _op_kind(UpdateDouble)

    module = types.ModuleType("iii_core.update._ops.double")

    def decode_wire(index: int, op: dict[str, Any]) -> tuple[Any, str, None]:
        return (apply, op["path"], None)

    def decode_struct(index: int, op: Any) -> tuple[Any, str, None]:
        return (apply, op.path, None)

    def apply(batch: Any, current: Any, index: int, path: str, _: None) -> Any:
        return {**current, path: current[path] * 2}

    module.__dict__.update(decode_wire=decode_wire, decode_struct=decode_struct, apply=apply)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    kind = _op_kind(UpdateDouble)
    assert (kind.name, kind.struct, kind.apply, kind.argument_field) == (
        "double",
        UpdateDouble,
        apply,
        None,
    )
    assert kind.decode_wire(0, {"type": "double", "path": "n"}) == (apply, "n", None)
