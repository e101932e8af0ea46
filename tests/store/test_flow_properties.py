"""Properties of the call flow's new pure functions on random inputs: the depth bound equals a
simple recursive measure, stored forms decode to what was stored, and a flow whose
compare-and-sets are interfered with by other writers still answers as the model store does,
from the value its successful compare-and-set found. Inputs are never mutated."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iii_core.store import (
    MAX_PAYLOAD_DEPTH,
    Changed,
    CompareAndSet,
    Limits,
    ReadField,
    StoreCallError,
    call_flow,
    check_payload_depth,
    decode_stored,
    run_flow,
    within_depth,
)
from iii_core.update import MISSING
from tests.jsonvalues import same_json, snapshot
from tests.property.strategies import documents, json_values
from tests.store import reference
from tests.store.harness import CoreStore
from tests.store.strategies import calls

NOW = 1_700_000_000_000


def depth(value: Any) -> int:
    if type(value) is dict:
        return 1 + max((depth(v) for v in value.values()), default=0)
    if type(value) is list:
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def wrap(value: Any, levels: int) -> Any:
    for _ in range(levels):
        value = [value]
    return value


@settings(max_examples=300, deadline=None)
@given(value=json_values(), extra=st.integers(0, 140))
def test_the_depth_bound_is_the_nesting_depth(value: Any, extra: int) -> None:
    payload = wrap(value, extra)
    before = snapshot(payload)
    if depth(payload) <= MAX_PAYLOAD_DEPTH:
        check_payload_depth("stream::set", payload)
    else:
        with pytest.raises(StoreCallError) as raised:
            check_payload_depth("stream::set", payload)
        assert raised.value.message.endswith("recursion limit exceeded")
    assert same_json(payload, before)


@given(value=documents)
def test_a_stored_form_decodes_to_the_stored_value(value: Any) -> None:
    encoded = msgspec.json.encode(value)
    assert same_json(decode_stored(encoded, "h", "f"), value)
    assert decode_stored(value, "h", "f") is value
    assert decode_stored(MISSING, "h", "f") is MISSING


class Interfering(CoreStore):
    """The core store, with other writers that replace the item just before some of this
    flow's compare-and-sets (each replacement is a later write of theirs)."""

    def __init__(self, replacements: list[Any]) -> None:
        super().__init__(start_ms=NOW)
        self.replacements = replacements
        self.final: Any = None

    def compare_and_set(self, op: CompareAndSet) -> Changed | None:
        if self.replacements:
            self.hashes.setdefault(op.hash_key, {})[op.field] = self.replacements.pop()
        before = self.read_field(ReadField(op.hash_key, op.field))
        changed = super().compare_and_set(op)
        if changed is None:
            self.final = before  # the value the write was computed from
        return changed


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    call=calls(
        ["stream::set", "stream::update", "stream::delete", "state::update", "state::delete"]
    ),
    replacements=st.lists(documents, max_size=3),
)
def test_a_write_that_lost_compare_and_sets_applies_to_the_value_it_finally_saw(
    call: tuple[str, dict[str, Any]], replacements: list[Any]
) -> None:
    function_id, payload = call
    before = snapshot(payload)
    store = Interfering(list(replacements))
    result, events = store.call(function_id, payload)
    final = store.final
    # Either every replacement was a conflict and the write saw the last one, or a replacement
    # was the very object the flow expected (``None``, ``True``, a small int), which is no
    # conflict: the same object is the same value.
    assert store.replacements or final is (replacements[0] if replacements else MISSING)
    wrote, new, expected, expected_events = reference.write(function_id, payload, final, NOW + 1)
    assert same_json(result, expected)
    assert same_json(events, expected_events)
    location = reference.location(function_id, payload)
    assert location is not None
    stored = store.hashes.get(location[0], {}).get(location[1], MISSING)
    left = new if wrote else final
    assert stored is MISSING if left is MISSING else same_json(stored, left)
    assert same_json(payload, before)


def test_a_read_field_of_a_write_may_be_stale_and_is_not_fresh() -> None:
    ops = []

    class Recording(CoreStore):
        def read_field(self, op: ReadField) -> Any:
            ops.append(op)
            return super().read_field(op)

    store = Recording()
    store.call("stream::get", {"stream_name": "s", "group_id": "g", "item_id": "i"})
    run_flow(
        call_flow(
            "stream::set",
            {"stream_name": "s", "group_id": "g", "item_id": "i", "data": 1},
            1,
            Limits(),
        ),
        store,
    )
    assert [op.fresh for op in ops[:2]] == [True, False]


@given(payload=json_values())
def test_within_depth_only_vouches_for_payloads_within_the_bound(payload: Any) -> None:
    # The bracket count is a bound on the depth: a text it passes is never too deep, so the
    # boundary may skip the walk; a text it refuses is walked.
    text = msgspec.json.encode(payload)
    if within_depth(text):
        check_payload_depth("stream::set", payload)  # never raises
    assert within_depth(text.decode()) == within_depth(text)


def test_within_depth_refuses_a_text_at_the_edge() -> None:
    deep = b"[" * (MAX_PAYLOAD_DEPTH + 1) + b"]" * (MAX_PAYLOAD_DEPTH + 1)
    assert not within_depth(deep)
    assert within_depth(deep[1:-1])
