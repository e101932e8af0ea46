"""The copies at a store's boundary, on random values: a copied result equals the result and
shares nothing with it; ``as_json`` (no copy) equals msgspec's conversion of a result."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from iii_core.backends._boundary import as_json, copy_result, owned_payload
from iii_core.store import StoreCallError, transition
from iii_core.store._decode_call import decode_call
from iii_core.update import MISSING
from tests.jsonvalues import same_json, snapshot
from tests.property.strategies import documents, op_lists

ITEM = {"stream_name": "s", "group_id": "g", "item_id": "i"}


def containers(value: Any) -> list[int]:
    found, stack = [], [value]
    while stack:
        node = stack.pop()
        if type(node) in (dict, list):
            found.append(id(node))
            stack.extend(node.values() if type(node) is dict else node)
    return found


@given(old=st.one_of(st.just(MISSING), documents), ops=op_lists)
def test_results_as_json_and_copied(old: Any, ops: list[Any]) -> None:
    payload = owned_payload("stream::update", {**ITEM, "ops": ops})
    try:
        request = decode_call("stream::update", payload)
    except StoreCallError:  # an invalid op list is not this test's subject
        return
    result = transition(request, old, 1).result
    before = snapshot(old)
    plain = as_json(result)
    assert same_json(plain, msgspec.to_builtins(result))
    copied = copy_result(result)
    assert same_json(copied, plain)
    assert not set(containers(copied)) & set(containers(old))
    assert same_json(old, before)


@given(value=documents)
def test_an_owned_payload_equals_the_payload_and_shares_nothing(value: Any) -> None:
    payload = {**ITEM, "data": value}
    owned = owned_payload("stream::set", payload)
    assert same_json(owned, payload)
    assert not set(containers(owned)) & set(containers(payload))
