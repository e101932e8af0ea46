"""Explicit wire cases: camelCase names, ``type`` tags, op lists, documented defaults, and the
places where the schemas follow the engine rather than the docs."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from iii_core import decode, encode
from iii_core.http import (
    HttpAuthApiKey,
    HttpAuthBearer,
    HttpAuthConfig,
    HttpAuthHmac,
    HttpInvocationConfig,
    HttpRequest,
    HttpResponse,
)
from iii_core.observability import OtelConfig, ReconnectionConfig
from iii_core.queue import EnqueueResult
from iii_core.state import StateChangeEvent, StateSetInput, StateUpdateInput
from iii_core.stream import (
    StreamChangeEvent,
    StreamChangeEventDetail,
    StreamJoinLeaveEvent,
    StreamUpdateInput,
    UpdateAppend,
    UpdateDecrement,
    UpdateIncrement,
    UpdateMerge,
    UpdateOp,
    UpdateRemove,
    UpdateSet,
)
from iii_core.worker_connection_manager import AuthResult
from tests.conformance.vectors import helpers_vectors
from tests.jsonvalues import same_json


def _json(obj: Any) -> Any:
    return json.loads(encode(obj))


def _error(data: Any, type_: Any) -> str:
    with pytest.raises(msgspec.ValidationError) as info:
        decode(json.dumps(data), type_)
    return str(info.value)


# --- camelCase wire names -----------------------------------------------------------------------

STREAM_EVENT = {
    "type": "stream",
    "timestamp": 1700000000000,
    "streamName": "chat",
    "groupId": "room-1",
    "id": "msg-1",
    "event": {"type": "create", "data": {"text": "hi"}},
}


def test_stream_change_event_keeps_camel_case_wire_names() -> None:
    event = decode(json.dumps(STREAM_EVENT), StreamChangeEvent)
    assert (event.stream_name, event.group_id, event.id) == ("chat", "room-1", "msg-1")
    assert event.event == StreamChangeEventDetail(type="create", data={"text": "hi"})
    assert same_json(_json(event), STREAM_EVENT)


def test_stream_change_event_rejects_snake_case_names() -> None:
    snake = {k: v for k, v in STREAM_EVENT.items() if k not in ("streamName", "groupId")}
    snake |= {"stream_name": "chat", "group_id": "room-1"}
    assert _error(snake, StreamChangeEvent) == "Object missing required field `streamName`"


def test_enqueue_result_keeps_message_receipt_id() -> None:
    result = decode(b'{"messageReceiptId": "0b6c"}', EnqueueResult)
    assert result.message_receipt_id == "0b6c"
    assert encode(result) == b'{"messageReceiptId":"0b6c"}'
    assert encode(EnqueueResult(message_receipt_id="x")) == b'{"messageReceiptId":"x"}'
    message = _error({"message_receipt_id": "0b6c"}, EnqueueResult)
    assert message == "Object missing required field `messageReceiptId`"


# --- type tags ----------------------------------------------------------------------------------

OPS_WIRE: list[dict[str, Any]] = [
    {"type": "set", "path": "count", "value": 5},
    {"type": "merge", "value": {"author": "alice"}},
    {"type": "increment", "path": "views", "by": 1},
    {"type": "decrement", "path": "stock", "by": 2},
    {"type": "append", "path": ["entityId", "buffer"], "value": "chunk"},
    {"type": "remove", "path": "draft"},
]
OP_CLASSES = [UpdateSet, UpdateMerge, UpdateIncrement, UpdateDecrement, UpdateAppend, UpdateRemove]


def test_op_list_decodes_straight_into_the_tagged_classes() -> None:
    ops = decode(json.dumps(OPS_WIRE), list[UpdateOp])
    assert [type(op) for op in ops] == OP_CLASSES
    assert ops == [
        UpdateSet(path="count", value=5),
        UpdateMerge(value={"author": "alice"}),
        UpdateIncrement(path="views", by=1),
        UpdateDecrement(path="stock", by=2),
        UpdateAppend(path=["entityId", "buffer"], value="chunk"),
        UpdateRemove(path="draft"),
    ]
    assert same_json(_json(ops), OPS_WIRE)


@pytest.mark.parametrize(
    ("wire", "cls"),
    [
        # The published pydantic union picks the first structurally valid member; these three
        # come out as UpdateAppend, UpdateSet and UpdateIncrement there. The tag decides here.
        ({"type": "merge", "value": {"a": 1}}, UpdateMerge),
        ({"type": "append", "path": "p", "value": 1}, UpdateAppend),
        ({"type": "decrement", "path": "p", "by": 1}, UpdateDecrement),
        ({"type": "set", "path": "p"}, UpdateSet),
        ({"type": "increment", "path": "p", "by": -1}, UpdateIncrement),
        ({"type": "remove", "path": ""}, UpdateRemove),
    ],
)
def test_each_tag_picks_its_class(wire: dict[str, Any], cls: type) -> None:
    op = decode(json.dumps(wire), UpdateOp)
    assert type(op) is cls
    assert same_json(_json(op), wire)


def test_ops_inside_stream_and_state_update_inputs() -> None:
    stream = decode(
        json.dumps({"stream_name": "s", "group_id": "g", "item_id": "i", "ops": OPS_WIRE}),
        StreamUpdateInput,
    )
    state = decode(json.dumps({"scope": "s", "key": "k", "ops": OPS_WIRE}), StateUpdateInput)
    assert [type(op) for op in stream.ops] == OP_CLASSES
    assert [type(op) for op in state.ops] == OP_CLASSES


def test_bad_ops_name_the_op_index_and_field() -> None:
    payload = {"scope": "s", "key": "k", "ops": [OPS_WIRE[0], {"type": "increment", "path": "a"}]}
    assert _error(payload, StateUpdateInput) == "Object missing required field `by` - at `$.ops[1]`"
    payload["ops"] = [{"type": "multiply", "path": "a", "by": 2}]
    assert _error(payload, StateUpdateInput) == "Invalid value 'multiply' - at `$.ops[0].type`"
    payload["ops"] = [{"type": "set", "path": ["a", "b"], "value": 1}]
    assert _error(payload, StateUpdateInput) == "Expected `str`, got `array` - at `$.ops[0].path`"


def test_by_is_an_integer_as_in_the_engine() -> None:
    # The docs type `by` as int | float; the engine's i64 rejects 1.5 and also 1.0. JSON Schema's
    # "integer" admits 1.0 (a number with no fraction), so here the decoder is the stricter one.
    for by in (1.5, 1.0):
        message = _error({"type": "increment", "path": "a", "by": by}, UpdateOp)
        assert message == "Expected `int`, got `float` - at `$.by`"


def test_event_and_auth_tags() -> None:
    state_event = {
        "type": "state",
        "event_type": "state:deleted",
        "scope": "s",
        "key": "k",
        "old_value": None,
        "new_value": None,
    }
    assert same_json(_json(decode(json.dumps(state_event), StateChangeEvent)), state_event)
    assert _error({**state_event, "type": "stream"}, StateChangeEvent) == (
        "Invalid enum value 'stream' - at `$.type`"
    )
    assert _error({**STREAM_EVENT, "type": "create"}, StreamChangeEvent) == (
        "Invalid enum value 'create' - at `$.type`"
    )
    auths: list[tuple[dict[str, Any], type]] = [
        ({"type": "hmac", "secret_key": "HMAC_SECRET"}, HttpAuthHmac),
        ({"type": "bearer", "token_key": "TOKEN"}, HttpAuthBearer),
        ({"type": "api_key", "header": "X-Key", "value_key": "KEY"}, HttpAuthApiKey),
    ]
    for wire, cls in auths:
        auth = decode(json.dumps(wire), HttpAuthConfig)
        assert type(auth) is cls
        assert same_json(_json(auth), wire)


def test_http_auth_needs_its_tag() -> None:
    # The published plain union accepts {"token_key": "T"} as bearer; here the tag is required.
    assert _error({"token_key": "T"}, HttpAuthConfig) == "Object missing required field `type`"
    assert _error({"type": "basic"}, HttpAuthConfig) == "Invalid value 'basic' - at `$.type`"


# --- optional fields: absent -> UNSET, omitted; null kept ---------------------------------------


def test_absent_stays_absent_and_null_stays_null() -> None:
    base = {"subscription_id": "sub", "stream_name": "s", "group_id": "g"}
    absent = decode(json.dumps(base), StreamJoinLeaveEvent)
    assert absent.id is msgspec.UNSET
    assert absent.context is msgspec.UNSET
    assert same_json(_json(absent), base)
    explicit = decode(json.dumps({**base, "id": None, "context": None}), StreamJoinLeaveEvent)
    assert explicit.id is None
    assert explicit.context is None
    assert same_json(_json(explicit), {**base, "id": None, "context": None})


def test_merge_and_append_drop_only_an_absent_path() -> None:
    # As the published model's serializer: "" and [] are kept, a missing path is omitted.
    assert _json(UpdateAppend(value=42)) == {"type": "append", "value": 42}
    assert _json(UpdateMerge(path=[], value={})) == {"type": "merge", "path": [], "value": {}}
    assert _json(UpdateAppend(path="", value=1)) == {"type": "append", "path": "", "value": 1}
    assert _json(UpdateAppend(path=None, value=1)) == {"type": "append", "path": None, "value": 1}


# --- documented defaults (../shared/conformance/helpers.json, iii-helpers 0.20.0) ---------------

# The expected dumps, copied from helpers.json (ids "OtelConfig()-01", "ReconnectionConfig()-01",
# "AuthResult().model_dump()-01"). A None default is represented as absent (UNSET), so the null
# entries are exactly the ones our encoding omits.
DEFAULTS: dict[str, tuple[type, dict[str, Any]]] = {
    "OtelConfig()-01": (
        OtelConfig,
        {
            "enabled": None,
            "service_name": None,
            "service_version": None,
            "service_namespace": None,
            "service_instance_id": None,
            "engine_ws_url": None,
            "fetch_instrumentation_enabled": True,
            "spans_flush_interval_ms": None,
            "logs_enabled": None,
            "logs_flush_interval_ms": None,
            "logs_batch_size": None,
            "metrics_enabled": True,
            "metrics_export_interval_ms": 60000,
        },
    ),
    "ReconnectionConfig()-01": (
        ReconnectionConfig,
        {
            "initial_delay_ms": 1000,
            "max_delay_ms": 30000,
            "backoff_multiplier": 2.0,
            "jitter_factor": 0.3,
            "max_retries": -1,
        },
    ),
    "AuthResult().model_dump()-01": (
        AuthResult,
        {
            "allowed_functions": [],
            "forbidden_functions": [],
            "allowed_trigger_types": None,
            "allow_trigger_type_registration": False,
            "allow_function_registration": True,
            "function_registration_prefix": None,
            "context": {},
        },
    ),
}


def test_default_table_matches_the_shared_vectors() -> None:
    shared = {key: v["expected"] for key, v in helpers_vectors().items() if key in DEFAULTS}
    assert same_json(shared, {key: expected for key, (_, expected) in DEFAULTS.items()})


# Fields the 0.20.0 vectors predate: the engine's `namespaces` (iii bacffa0d, iii-helpers 0.23.0)
# and `engine_ws_headers` (iii-helpers 0.24.6), with their defaults.
LATER_DEFAULTS: dict[str, dict[str, Any]] = {
    "AuthResult().model_dump()-01": {"namespaces": {}},
    "OtelConfig()-01": {"engine_ws_headers": None},
}


@pytest.mark.parametrize("vector_id", sorted(DEFAULTS))
def test_documented_defaults(vector_id: str) -> None:
    cls, expected = DEFAULTS[vector_id]
    expected = {**expected, **LATER_DEFAULTS.get(vector_id, {})}
    assert {f.encode_name for f in msgspec.structs.fields(cls)} == set(expected)
    for built in (cls(), decode(b"{}", cls)):
        for field, value in expected.items():
            got = getattr(built, field)
            if value is None:
                assert got is msgspec.UNSET, field
            else:
                assert same_json(got, value), field
        assert same_json(_json(built), {k: v for k, v in expected.items() if v is not None})


def test_auth_result_keeps_its_namespaces() -> None:
    # The engine's `namespaces` (iii bacffa0d; iii-helpers 0.23.0) survives a round trip.
    result = decode(b'{"namespaces": {"a": ["b"]}}', AuthResult)
    assert result.namespaces == {"a": ["b"]}
    assert decode(encode(result), AuthResult) == result


# --- http: where the schemas follow the engine ----------------------------------------------------


def test_http_response_uses_status_code_on_the_wire() -> None:
    response = HttpResponse(status_code=404, body={"error": "not found"})
    assert _json(response) == {"status_code": 404, "body": {"error": "not found"}, "headers": {}}
    # The engine reads only `status_code`: a `statusCode` key is ignored and the status is 200.
    assert decode(b'{"statusCode": 404}', HttpResponse).status_code == 200
    assert decode(b"{}", HttpResponse) == HttpResponse(status_code=200)
    lines = decode(b'{"status_code": 201, "headers": ["X-A: 1"]}', HttpResponse)
    assert lines.headers == ["X-A: 1"]


def test_http_invocation_config_as_the_sdk_sends_it() -> None:
    # test_http_external_functions_integration.py: the `invocation` the SDK registers.
    config = HttpInvocationConfig(
        url="https://example.com/hook",
        method="PUT",
        timeout_ms=5000,
        headers={"X-Custom": "1"},
        auth=HttpAuthBearer(token_key="MY_SECRET_TOKEN"),
    )
    assert _json(config) == {
        "url": "https://example.com/hook",
        "method": "PUT",
        "timeout_ms": 5000,
        "headers": {"X-Custom": "1"},
        "auth": {"type": "bearer", "token_key": "MY_SECRET_TOKEN"},
    }
    assert decode(b'{"url": "u"}', HttpInvocationConfig).method == "POST"
    assert _error({"method": "POST"}, HttpInvocationConfig) == "Object missing required field `url`"
    assert _error({"url": "u", "method": "HEAD"}, HttpInvocationConfig) == (
        "Invalid enum value 'HEAD' - at `$.method`"
    )


def test_http_request_defaults() -> None:
    request = decode(b'{"body": {"z": 2, "a": 1}}', HttpRequest)
    assert request == HttpRequest(body={"z": 2, "a": 1})
    assert (request.path_params, request.query_params, request.headers) == ({}, {}, {})
    assert request.method == "GET"
    query = decode(b'{"query_params": {"a": ["1", "2"], "c": ""}}', HttpRequest).query_params
    assert query == {"a": ["1", "2"], "c": ""}


# --- state -----------------------------------------------------------------------------------


def test_state_set_input_knows_value_not_the_data_alias() -> None:
    assert decode(b'{"scope": "s", "key": "k", "value": null}', StateSetInput).value is None
    message = _error({"scope": "s", "key": "k", "data": 1}, StateSetInput)
    assert message == "Object missing required field `value`"


# --- the base class ----------------------------------------------------------------------------


def test_structs_are_frozen_and_keyword_only() -> None:
    op = UpdateSet(path="a", value=1)
    with pytest.raises(AttributeError):
        op.path = "b"  # type: ignore[misc]
    with pytest.raises(TypeError):
        UpdateSet("a", 1)  # type: ignore[call-arg]
