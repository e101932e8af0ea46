"""The copies at a store's boundary, on random values: every copy (a payload's, a result's, a
typed result's, an event's) equals what it copies, leaves it as it was, and shares no container
with it nor within itself (a copy is a tree, even where the copied values share members, as an
update's old and new values do); ``as_json`` (no copy) equals msgspec's conversion of a result.
The copies pause the cyclic garbage collector and always leave it as they found it."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from iii_core.backends._boundary import (
    as_json,
    copy_event,
    copy_result,
    owned_payload,
    payload_from_json,
    typed_result,
)
from iii_core.store import StoreCallError, transition
from iii_core.store._decode_call import decode_call
from iii_core.update import MISSING
from tests.jsonvalues import same_json, snapshot
from tests.property.strategies import documents, json_values, op_lists

ITEM = {"stream_name": "s", "group_id": "g", "item_id": "i"}


def containers(value: Any) -> list[int]:
    """The ids of every object and array inside ``value``, through Structs and their lists,
    once per place they occur (so a container reachable twice is listed twice)."""
    found, stack = [], [value]
    while stack:
        node = stack.pop()
        if isinstance(node, msgspec.Struct):
            stack.extend(getattr(node, name) for name in node.__struct_fields__)
        elif type(node) in (dict, list):
            found.append(id(node))
            stack.extend(node.values() if type(node) is dict else node)
    return found


def assert_private_copy(copied: Any, original: Any, *held: Any) -> None:
    """``copied`` encodes as ``original`` does and shares no container with it, with anything
    in ``held``, or within itself."""
    assert msgspec.json.encode(copied) == msgspec.json.encode(original)
    ours = containers(copied)
    assert len(set(ours)) == len(ours)
    for other in (original, *held):
        assert not set(ours) & set(containers(other))


def write_results(old: Any, ops: list[Any]) -> Iterator[tuple[Any, Any, Any]]:
    """``(request payload, transition, snapshot of old)`` of an update, then of a set of the
    update's new value over ``old``; nothing when the ops are invalid."""
    payload = owned_payload("stream::update", {**ITEM, "ops": ops})
    try:
        request = decode_call("stream::update", payload)
    except StoreCallError:  # an invalid op list is not these tests' subject
        return
    before = snapshot(old)
    updated = transition(request, old, 1)
    yield payload, updated, before
    set_payload = {**ITEM, "data": updated.new}
    yield set_payload, transition(decode_call("stream::set", set_payload), old, 2), before


@given(old=st.one_of(st.just(MISSING), documents), ops=op_lists)
def test_results_as_json_and_copied(old: Any, ops: list[Any]) -> None:
    for payload, outcome, before in write_results(old, ops):
        result = outcome.result
        plain = as_json(result)
        assert same_json(plain, msgspec.to_builtins(result))
        assert_private_copy(copy_result(result), result, old, payload, outcome.new)
        assert same_json(old, before)


@given(old=st.one_of(st.just(MISSING), documents), ops=op_lists)
def test_typed_results_are_private_values_of_their_type(old: Any, ops: list[Any]) -> None:
    for payload, outcome, before in write_results(old, ops):
        result = outcome.result
        typed = typed_result(result, type(result))
        assert type(typed) is type(result)
        assert_private_copy(typed, result, old, payload, outcome.new)
        assert same_json(old, before)


@given(old=st.one_of(st.just(MISSING), documents), ops=op_lists)
def test_each_event_copy_is_private(old: Any, ops: list[Any]) -> None:
    for payload, outcome, before in write_results(old, ops):
        for event in outcome.events:
            first, second = copy_event(event), copy_event(event)
            assert type(first) is type(event)
            assert_private_copy(first, event, second, old, payload, outcome.new)
        assert same_json(old, before)


@given(value=documents)
def test_an_owned_payload_equals_the_payload_and_shares_nothing(value: Any) -> None:
    payload = {**ITEM, "data": value}
    before = snapshot(payload)
    owned = owned_payload("stream::set", payload)
    assert same_json(owned, payload)
    assert same_json(payload, before)
    assert_private_copy(owned, payload)


@given(value=json_values(40))
def test_a_list_of_values_is_copied_into_list_any(value: Any) -> None:
    values = [value, value]  # one value listed twice: the copy holds two trees
    assert_private_copy(typed_result(values, list[Any]), values)
    assert_private_copy(copy_result(values), values)


# -- the garbage collector -------------------------------------------------------------------------


def big_value() -> dict[str, Any]:
    """More containers than several young generations hold (700 each, by default)."""
    return {f"k{i}": {"inner": {"list": [i]}} for i in range(5_000)}


def test_a_copy_runs_without_collections_and_leaves_the_collector_enabled() -> None:
    value = big_value()
    inside: dict[str, bool] = {"copy": False}
    collections: list[int] = []

    def count(phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and inside["copy"]:
            collections.append(info["generation"])

    def during(copy: Callable[..., Any], *args: Any) -> Any:
        gc.collect()  # the collection the previous copy deferred happens here, not inside
        inside["copy"] = True
        try:
            return copy(*args)
        finally:
            inside["copy"] = False

    encoded = msgspec.json.encode(value)
    gc.callbacks.append(count)
    try:
        copies = [
            during(copy_result, value),
            during(typed_result, value, dict[str, Any]),
            during(owned_payload, "stream::set", value),
            during(payload_from_json, "stream::set", encoded),
        ]
        assert collections == []
        assert gc.isenabled()
        # The same containers built otherwise are collected many times over.
        copies.append(during(snapshot, value))
        assert len(collections) > 10
    finally:
        gc.callbacks.remove(count)
    for copied in copies:
        assert same_json(copied, value)


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    try:
        copy_result(big_value())
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_failed_copy_leaves_the_collector_enabled() -> None:
    with pytest.raises(StoreCallError):
        owned_payload("stream::set", {**ITEM, "data": [object()]})
    assert gc.isenabled()
    with pytest.raises(msgspec.ValidationError):
        typed_result({"not": "a list"}, list[Any])
    assert gc.isenabled()
