"""Properties of the serde/serde_json rules shared by every JSON entry point:
``iii_core._json.loads`` against the standard library's parser with serde_json's number rules,
``iii_core._serde``'s descriptions, and ``decode_update_ops`` against applying raw ops."""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iii_core import MISSING, InvalidOps, apply_update_ops
from iii_core._json import MAX_DEPTH, loads
from iii_core._serde import I64_MIN, U64_MAX, rust_float, unexpected
from iii_core.update import decode_update_ops
from tests.jsonvalues import same_json, snapshot
from tests.property.strategies import documents, malformed_ops, op_lists

EXAMPLES = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _serde_int(literal: str) -> int | float:
    """serde_json's reading of an integer literal (the reference model)."""
    if literal == "-0":
        return -0.0
    value = int(literal)
    return value if I64_MIN <= value <= U64_MAX else float(literal)


def reference_loads(text: str) -> Any:
    return json.loads(text, parse_int=_serde_int)


def _kinds_equal(a: Any, b: Any) -> bool:
    if not same_json(a, b):
        return False
    # same_json treats -0.0 as 0.0; the sign is part of serde_json's rule.
    signs = [
        (math.copysign(1, x), math.copysign(1, y))
        for x, y in zip(_floats(a), _floats(b), strict=True)
    ]
    return all(x == y for x, y in signs)


def _floats(value: Any) -> list[float]:
    found, stack = [], [value]
    while stack:
        node = stack.pop()
        if type(node) is float:
            found.append(node)
        elif type(node) is dict:
            stack.extend(node[k] for k in sorted(node))
        elif type(node) is list:
            stack.extend(node)
    return found


number_literals = st.one_of(
    st.just("-0"),
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from([str(I64_MIN), str(I64_MIN - 1), str(U64_MAX), str(U64_MAX + 1)]),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.just("-0.0"),
)
json_texts = st.recursive(
    st.one_of(
        number_literals,
        st.text(max_size=6).map(json.dumps),
        st.sampled_from(['"-0"', '"12345678901234567890123"', '"\\"-0"', "null", "true"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        st.dictionaries(st.text(max_size=4), inner, max_size=4).map(
            lambda d: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in d.items()) + "}"
        ),
    ),
    max_leaves=10,
)


@EXAMPLES
@given(text=json_texts)
def test_loads_reads_numbers_as_serde_json_does(text: str) -> None:
    expected = reference_loads(text)
    for data in (text, text.encode()):
        assert _kinds_equal(loads(data), expected), (text, loads(data), expected)


@EXAMPLES
@given(value=documents)
def test_loads_round_trips_encoded_values(value: Any) -> None:
    assert _kinds_equal(loads(msgspec.json.encode(value)), value)


@pytest.mark.parametrize("depth", [1, MAX_DEPTH - 1, MAX_DEPTH, 10 * MAX_DEPTH])
@pytest.mark.parametrize("opener", ["[", '{"k":'])
def test_loads_depth_bound_is_serde_jsons(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    text = opener * depth + "1" * (opener != "[") + closer * depth
    if depth < MAX_DEPTH:
        assert loads(text) is not None
    else:
        with pytest.raises(msgspec.DecodeError, match="recursion limit"):
            loads(text)


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    text = json.dumps(["[" * 500, {"k": "{" * 500}])
    assert loads(text) == ["[" * 500, {"k": "{" * 500}]


@pytest.mark.parametrize("text", ["1" + "0" * 400, "-1" + "0" * 400, "[1", "", "{", "nan"])
def test_loads_refuses_what_serde_json_refuses(text: str) -> None:
    with pytest.raises(msgspec.DecodeError):
        loads(text)


@EXAMPLES
@given(value=st.floats(allow_nan=False, allow_infinity=False))
def test_rust_float_is_the_shortest_exact_decimal_without_exponent(value: float) -> None:
    text = rust_float(value)
    assert "e" not in text and "E" not in text
    assert float(text) == value
    assert math.copysign(1, float(text)) == math.copysign(1, value)
    assert len(text.lstrip("-").replace(".", "").strip("0") or "0") <= len(
        repr(abs(value)).split("e")[0].replace(".", "").strip("0") or "0"
    )


@EXAMPLES
@given(value=st.integers())
def test_unexpected_describes_ints_beyond_u64_as_serde_json_floats(value: int) -> None:
    text = unexpected(value)
    if I64_MIN <= value <= U64_MAX:
        assert text == f"integer `{value}`"
    elif abs(value) < 2**1000:
        assert text == f"floating point `{rust_float(float(value))}.0`"


@EXAMPLES
@given(old=st.one_of(st.just(MISSING), documents), ops=op_lists)
def test_decoding_first_gives_the_same_result_and_mutates_nothing(
    old: Any, ops: list[dict[str, Any]]
) -> None:
    ops_before = snapshot(ops)
    decoded = decode_update_ops(ops)
    assert same_json(ops, ops_before)
    new_raw, errors_raw = apply_update_ops(old, ops)
    new_decoded, errors_decoded = apply_update_ops(old, decoded)
    assert same_json(new_raw, new_decoded)
    assert errors_raw == errors_decoded
    new_structs, errors_structs = apply_update_ops(old, decoded.structs())
    assert same_json(new_raw, new_structs)
    assert errors_raw == errors_structs


@EXAMPLES
@given(old=documents, ops=malformed_ops)
def test_decode_and_apply_refuse_the_same_malformed_ops(old: Any, ops: Any) -> None:
    with pytest.raises(InvalidOps) as at_decode:
        decode_update_ops(ops)
    with pytest.raises(InvalidOps) as at_apply:
        apply_update_ops(old, ops)
    assert at_decode.value.message == at_apply.value.message
