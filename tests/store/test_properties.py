"""Properties of every pure function of ``iii_core.store`` on random inputs.

For each: inputs are never mutated (snapshot before, compare after), the result equals the
simple model in ``tests.store.reference``, and results survive a JSON round trip.
"""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iii_core._generated.state import (
    StateChangeEvent,
    StateListGroupsInput,
    StateTriggerConfig,
)
from iii_core._generated.stream import (
    StreamChangeEvent,
    StreamListGroupsInput,
    StreamTriggerConfig,
)
from iii_core.store import (
    StoreCallError,
    decode_call,
    encode_result,
    item_location,
    json_size,
    list_hash_prefix,
    read_item,
    read_list,
    read_list_all,
    read_list_groups,
    state_trigger_matches,
    stream_trigger_matches,
    transition,
)
from iii_core.update import MISSING, InvalidOps, decode_update_ops
from tests.jsonvalues import same_json, snapshot
from tests.property.strategies import json_values
from tests.store import reference
from tests.store.harness import CoreStore
from tests.store.strategies import (
    FIELDS,
    FUNCTION_IDS,
    RUST_NAMES,
    WRITE_IDS,
    any_payloads,
    calls,
    names,
    olds,
    valid_payloads,
    wrong_strings,
)

EXAMPLES = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = 1_700_000_000_123


def to_json(value: Any) -> Any:
    return msgspec.json.decode(encode_result(value))


def _wire_fields(payload: dict[str, Any], function_id: str) -> dict[str, Any]:
    """The payload as the decoded request should encode it (alias resolved, extras dropped)."""
    out: dict[str, Any] = {}
    for field, kind in FIELDS[function_id]:
        key = (
            "data"
            if function_id == "state::set" and field == "value" and "value" not in payload
            else field
        )
        value = payload.get(key)
        if kind == "ops":
            continue  # compared through the update results instead (ops are re-encoded)
        out[field] = value
    return out


# ---------------------------------------------------------------------------------- decode_call


@EXAMPLES
@given(data=st.data(), function_id=st.sampled_from(FUNCTION_IDS))
def test_valid_payloads_decode_to_their_fields(data: st.DataObject, function_id: str) -> None:
    payload = data.draw(valid_payloads(function_id))
    before = snapshot(payload)
    request = decode_call(function_id, payload)
    assert same_json(payload, before)
    encoded = to_json(request)
    expected = _wire_fields(payload, function_id)
    for field, value in expected.items():
        assert same_json(encoded[field], value), (field, encoded, payload)
    # Decoding the engine's re-encoding of a request gives the same request.
    assert decode_call(function_id, encoded) == request


@EXAMPLES
@given(function_id=st.sampled_from(FUNCTION_IDS), payload=any_payloads)
def test_any_payload_decodes_or_fails_as_the_engine(function_id: str, payload: Any) -> None:
    before = snapshot(payload)
    prefix = f"Failed to deserialize input for {function_id}: "
    try:
        decode_call(function_id, payload)
    except StoreCallError as error:
        assert error.code == "deserialization_error"
        assert error.message.startswith(prefix)
        assert str(error) == f"{error.message} [{error.code}]"
        reason: str | None = error.message[len(prefix) :]
    else:
        reason = None
    assert same_json(payload, before)
    if type(payload) is dict:
        if reason is None:
            assert reference.is_valid_payload(function_id, payload)
        elif reference.is_valid_payload(function_id, payload):
            # Only the ops can be wrong then, and they fail as the update engine says.
            try:
                decode_update_ops(payload["ops"])
            except InvalidOps as invalid:
                assert reason == invalid.reason
            else:
                raise AssertionError(f"valid payload refused: {reason}")
    elif type(payload) is list:
        assert reason is not None or len(payload) == len(FIELDS[function_id])
    else:
        assert reason is not None
        assert reason.endswith(f", expected struct {RUST_NAMES[function_id]}")


@EXAMPLES
@given(data=st.data(), function_id=st.sampled_from(FUNCTION_IDS))
def test_one_missing_field_is_named(data: st.DataObject, function_id: str) -> None:
    required = [field for field, kind in FIELDS[function_id] if kind != "opt"]
    if not required:
        return
    payload = data.draw(valid_payloads(function_id))
    field = data.draw(st.sampled_from(required))
    payload.pop(field, None)
    if field == "value":
        payload.pop("data", None)
    try:
        decode_call(function_id, payload)
    except StoreCallError as error:
        assert error.message == (
            f"Failed to deserialize input for {function_id}: missing field `{field}`"
        )
    else:
        raise AssertionError("decoded without a required field")


@EXAMPLES
@given(data=st.data(), function_id=st.sampled_from(FUNCTION_IDS))
def test_one_wrong_string_is_reported(data: st.DataObject, function_id: str) -> None:

    strings = [field for field, kind in FIELDS[function_id] if kind in ("str", "opt")]
    if not strings:
        return
    payload = data.draw(valid_payloads(function_id))
    field = data.draw(st.sampled_from(strings))
    wrong = data.draw(wrong_strings.filter(lambda v: not (v is None and field == "id")))
    payload[field] = wrong
    try:
        decode_call(function_id, payload)
    except StoreCallError as error:
        assert error.message.startswith(
            f"Failed to deserialize input for {function_id}: invalid type: "
        )
        assert error.message.endswith(", expected a string")
    else:
        raise AssertionError("decoded a wrong type")


# ----------------------------------------------------------------------------------- transition


@EXAMPLES
@given(data=st.data(), function_id=st.sampled_from(WRITE_IDS), old=olds)
def test_transition_equals_the_model(data: st.DataObject, function_id: str, old: Any) -> None:
    payload = data.draw(valid_payloads(function_id))
    limit = data.draw(st.one_of(st.none(), st.integers(0, 40)))
    request = decode_call(function_id, payload)
    payload_before, old_before = snapshot(payload), snapshot(old)
    try:
        expected = reference.write(function_id, payload, old, NOW, limit)
    except reference.RefError as ref_error:
        try:
            transition(request, old, NOW, max_value_bytes=limit)
        except StoreCallError as error:
            assert (error.code, error.message) == (ref_error.code, ref_error.message)
        else:
            raise AssertionError("no VALUE_TOO_LARGE") from None
    else:
        step = transition(request, old, NOW, max_value_bytes=limit)
        wrote, new, result, events = expected
        assert step.write is wrote
        assert (step.new is MISSING) == (new is MISSING)
        if new is not MISSING:
            assert same_json(step.new, new)
        assert same_json(to_json(step.result), result)
        assert same_json([to_json(e) for e in step.events], events)
        # Round trip: the wire form decodes back into the same typed events.
        for event in step.events:
            assert msgspec.json.decode(encode_result(event), type=type(event)) == event
    assert same_json(payload, payload_before)
    assert (old is MISSING and old_before is MISSING) or same_json(old, old_before)


@EXAMPLES
@given(function_id=st.sampled_from(FUNCTION_IDS), data=st.data())
def test_item_location_equals_the_model(function_id: str, data: st.DataObject) -> None:
    payload = data.draw(valid_payloads(function_id))
    assert item_location(decode_call(function_id, payload)) == reference.location(
        function_id, payload
    )


@EXAMPLES
@given(value=json_values(12))
def test_json_size_is_serde_json_length(value: Any) -> None:
    before = snapshot(value)
    assert json_size(value) == reference.json_size(value)
    assert same_json(value, before)


# ---------------------------------------------------------------------------------------- reads

hash_keys = st.lists(
    st.one_of(
        st.builds(lambda s, g: f"stream:{s}:{g}", names, names),
        st.builds(lambda s: f"state:{s}", names),
        st.sampled_from(["stream:", "stream:x", "state:", "other", "streamx:a:b"]),
    ),
    max_size=8,
)


@EXAMPLES
@given(keys=hash_keys, stream_name=names)
def test_list_groups_equal_the_model(keys: list[str], stream_name: str) -> None:
    before = list(keys)
    stream_request = StreamListGroupsInput(stream_name=stream_name)
    assert read_list_groups(stream_request, keys) == reference.list_groups_stream(stream_name, keys)
    state = read_list_groups(StateListGroupsInput(), keys)
    assert to_json(state) == reference.list_groups_state(keys)
    # Filtering on the prefix first (what a backend's enumeration does) changes nothing.
    prefixed = [k for k in keys if k.startswith(list_hash_prefix(stream_request))]
    assert read_list_groups(stream_request, prefixed) == read_list_groups(stream_request, keys)
    assert keys == before


@EXAMPLES
@given(keys=hash_keys)
def test_list_all_equals_the_model(keys: list[str]) -> None:
    before = list(keys)
    result = read_list_all(iter(keys))
    assert to_json(result) == reference.list_all(keys)
    assert keys == before


@EXAMPLES
@given(item=olds, values=st.lists(json_values(4), max_size=5))
def test_item_and_list_reads(item: Any, values: list[Any]) -> None:
    before = snapshot(values)
    get = decode_call("stream::get", {"stream_name": "s", "group_id": "g", "item_id": "i"})
    assert same_json(to_json(read_item(get, item)), None if item is MISSING else item)
    listing = read_list(decode_call("state::list", {"scope": "s"}), iter(values))
    assert same_json(to_json(listing), values)
    assert same_json(values, before)


# ------------------------------------------------------------------------------------- triggers

maybe_names = st.one_of(st.none(), st.just(""), names)


@EXAMPLES
@given(
    config=st.fixed_dictionaries(
        {}, optional={"stream_name": maybe_names, "group_id": maybe_names, "item_id": maybe_names}
    ),
    stream_name=names,
    group_id=names,
    item_id=st.one_of(st.none(), names),
)
def test_stream_trigger_matches_the_model(
    config: dict[str, Any], stream_name: str, group_id: str, item_id: str | None
) -> None:
    event_json = {
        "type": "stream",
        "timestamp": NOW,
        "streamName": stream_name,
        "groupId": group_id,
        "id": item_id,
        "event": {"type": "update", "data": 1},
    }
    event = msgspec.convert(event_json, StreamChangeEvent)
    typed = msgspec.convert(config, StreamTriggerConfig)
    assert stream_trigger_matches(typed, event) is reference.stream_matches(config, event_json)


@EXAMPLES
@given(
    config=st.fixed_dictionaries({}, optional={"scope": maybe_names, "key": maybe_names}),
    scope=names,
    key=names,
)
def test_state_trigger_matches_the_model(config: dict[str, Any], scope: str, key: str) -> None:
    event_json = {
        "type": "state",
        "event_type": "state:deleted",
        "scope": scope,
        "key": key,
        "old_value": None,
        "new_value": None,
    }
    event = msgspec.convert(event_json, StateChangeEvent)
    typed = msgspec.convert(config, StateTriggerConfig)
    assert state_trigger_matches(typed, event) is reference.state_matches(config, event_json)


# ------------------------------------------------------------------------------ encode / store


@EXAMPLES
@given(value=json_values(12))
def test_encode_result_sorts_keys_and_round_trips(value: Any) -> None:
    encoded = encode_result(value)
    assert same_json(msgspec.json.decode(encoded), value)
    assert encoded.decode() == _sorted_dump(value)


def _sorted_dump(value: Any) -> str:
    if type(value) is dict:
        return (
            "{"
            + ",".join(reference.dump(k) + ":" + _sorted_dump(value[k]) for k in sorted(value))
            + "}"
        )
    if type(value) is list:
        return "[" + ",".join(_sorted_dump(v) for v in value) + "]"
    return reference.dump(value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sequence=st.lists(calls(), max_size=25),
    limit=st.one_of(st.none(), st.integers(0, 30)),
)
def test_call_sequences_equal_the_model_store(
    sequence: list[tuple[str, dict[str, Any]]], limit: int | None
) -> None:
    store = CoreStore(max_value_bytes=limit, start_ms=NOW)
    model = reference.RefStore(limit)
    now = NOW  # CoreStore's clock ticks once per write
    for function_id, payload in sequence:
        now += function_id in WRITE_IDS
        before = snapshot(payload)
        try:
            expected = model.call(function_id, payload, now)
        except reference.RefError as ref_error:
            try:
                store.call(function_id, payload)
            except StoreCallError as error:
                assert (error.code, error.message) == (ref_error.code, ref_error.message)
            else:
                raise AssertionError("no error") from None
        else:
            result, events = store.call(function_id, payload)
            assert same_json(result, expected[0]), (function_id, payload, result, expected[0])
            assert same_json(events, expected[1])
        assert same_json(payload, before)
    assert same_json(store.hashes, model.hashes)
