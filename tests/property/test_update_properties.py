"""Properties of apply_update_ops on random documents and op lists (2,000 examples each)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iii_core import MISSING, InvalidOps, apply_update_ops, apply_update_ops_json, encode
from iii_core.stream import UpdateOp
from tests.jsonvalues import same_json, snapshot
from tests.property import reference_model
from tests.property.strategies import documents, malformed_ops, op_lists, valid_ops

EXAMPLES = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
olds = st.one_of(st.just(MISSING), documents)


def _rows(errors: list[Any]) -> list[tuple[int, str, str]]:
    return [(e.op_index, e.code, e.message) for e in errors]


@EXAMPLES
@given(old=olds, ops=op_lists)
def test_inputs_are_never_mutated(old: Any, ops: list[dict[str, Any]]) -> None:
    old_before, ops_before = snapshot(old), snapshot(ops)
    apply_update_ops(old, ops)
    assert same_json(old, old_before)
    assert same_json(ops, ops_before)


@EXAMPLES
@given(old=olds, ops=op_lists)
def test_result_equals_reference_model(old: Any, ops: list[dict[str, Any]]) -> None:
    new, errors = apply_update_ops(old, ops)
    expected_new, expected_errors = reference_model.apply(old, ops, missing=old is MISSING)
    assert same_json(new, expected_new)
    assert _rows(errors) == expected_errors


@EXAMPLES
@given(old=olds, ops=op_lists)
def test_structs_and_dicts_give_the_same_result(old: Any, ops: list[dict[str, Any]]) -> None:
    structs = msgspec.convert(ops, list[UpdateOp])
    new_d, errors_d = apply_update_ops(old, ops)
    new_s, errors_s = apply_update_ops(old, structs)
    assert same_json(new_d, new_s)
    assert errors_d == errors_s


@EXAMPLES
@given(old=olds, ops=op_lists)
def test_errors_point_at_skipped_ops(old: Any, ops: list[dict[str, Any]]) -> None:
    new, errors = apply_update_ops(old, ops)
    failed = [e.op_index for e in errors]
    assert failed == sorted(set(failed))
    assert all(0 <= i < len(ops) for i in failed)
    kept = [op for i, op in enumerate(ops) if i not in set(failed)]
    new_kept, errors_kept = apply_update_ops(old, kept)
    assert errors_kept == []
    assert same_json(new_kept, new)


@EXAMPLES
@given(old=olds, ops=op_lists)
def test_json_round_trip(old: Any, ops: list[dict[str, Any]]) -> None:
    new, errors = apply_update_ops(old, ops)
    assert same_json(msgspec.json.decode(encode(new)), new)
    new_j, errors_j = apply_update_ops_json(None if old is MISSING else encode(old), encode(ops))
    assert same_json(new_j, new)
    assert errors_j == errors


@EXAMPLES
@given(
    old=olds,
    before=op_lists,
    bad=malformed_ops,
    after=st.lists(st.one_of(valid_ops, malformed_ops), max_size=3),
)
def test_malformed_ops_reject_the_whole_call(
    old: Any, before: list[Any], bad: Any, after: list[Any]
) -> None:
    ops = [*before, bad, *after]
    old_before, ops_before = snapshot(old), snapshot(ops)
    with pytest.raises(InvalidOps) as raised:
        apply_update_ops(old, ops)
    assert raised.value.op_index == len(before)
    assert raised.value.code == "deserialization_error"
    assert same_json(old, old_before)
    assert same_json(ops, ops_before)
    with pytest.raises(InvalidOps) as raised_json:
        apply_update_ops_json(None if old is MISSING else encode(old), encode(ops))
    assert str(raised_json.value) == str(raised.value)
