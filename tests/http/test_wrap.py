"""``http(callback)`` as reference §2 describes the published helper: what the wrapper reads
from a dict, a request object or any object, and what the callback receives."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import fields
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iii_core.http import (
    HttpRequest,
    HttpResponse,
    InternalHttpRequest,
    StreamRequest,
    StreamResponse,
    http,
)
from tests.http._fakes import RecordingSink, body_of
from tests.http._published import json_values, string_maps, text
from tests.jsonvalues import snapshot

Seen = tuple[StreamRequest, StreamResponse]


def _capture() -> tuple[list[Seen], Any]:
    seen: list[Seen] = []

    async def callback(request: StreamRequest, response: StreamResponse) -> HttpResponse:
        seen.append((request, response))
        return HttpResponse(status_code=204)

    return seen, http(callback)


def test_dict_request_with_defaults() -> None:
    seen, wrapped = _capture()
    sink, source = RecordingSink(), body_of()
    result = asyncio.run(wrapped({"response": sink, "request_body": source}))
    assert result == HttpResponse(status_code=204)  # returned unchanged
    request, response = seen[0]
    assert (request.path_params, request.query_params, request.headers) == ({}, {}, {})
    assert (request.body, request.method) == (None, "GET")
    assert request.request_body is source
    assert isinstance(response, StreamResponse)


def test_dict_request_as_the_engine_sends_it() -> None:
    seen, wrapped = _capture()
    source = body_of()
    payload = {
        "query_params": {"page": "1"},
        "path_params": {"id": "7"},
        "headers": {"content-type": "application/json"},
        "path": "/users/:id",
        "method": "POST",
        "body": {"z": 2, "a": 1},
        "trigger": {"type": "http", "path": "/users/:id", "method": "POST"},
        "request_body": source,
        "response": RecordingSink(),
    }
    asyncio.run(wrapped(payload))
    request, _ = seen[0]
    assert request == StreamRequest(
        path_params={"id": "7"},
        query_params={"page": "1"},
        body={"z": 2, "a": 1},
        headers={"content-type": "application/json"},
        method="POST",
        request_body=source,
    )


def test_explicit_none_values_are_passed_through() -> None:
    # dict.get(key, default) only defaults a missing key, as in the published helper.
    seen, wrapped = _capture()
    asyncio.run(
        wrapped(
            {"path_params": None, "method": None, "response": RecordingSink(), "request_body": None}
        )
    )
    assert seen[0][0].path_params is None
    assert seen[0][0].method is None


@pytest.mark.parametrize(
    ("payload", "missing"),
    [
        ({}, "response"),
        ({"request_body": None}, "response"),
        ({"response": None}, "request_body"),
    ],
)
def test_dict_without_channels_raises_key_error(payload: dict[str, Any], missing: str) -> None:
    _, wrapped = _capture()
    with pytest.raises(KeyError) as info:
        asyncio.run(wrapped(payload))
    assert info.value.args == (missing,)


def test_internal_request_is_used_as_is() -> None:
    seen, wrapped = _capture()
    source = body_of(b"x")
    internal = InternalHttpRequest(
        path_params={"a": "1"},
        query_params={"q": ["1", "2"]},
        body=None,
        headers={"h": "v"},
        method="PUT",
        response=RecordingSink(),
        request_body=source,
    )
    asyncio.run(wrapped(internal))
    assert seen[0][0] == StreamRequest(
        path_params={"a": "1"},
        query_params={"q": ["1", "2"]},
        body=None,
        headers={"h": "v"},
        method="PUT",
        request_body=source,
    )


def test_any_object_is_duck_typed() -> None:
    seen, wrapped = _capture()
    duck = SimpleNamespace(
        path_params={}, query_params={}, body=1, headers={}, method="DELETE",
        response=RecordingSink(), request_body=body_of(), extra="ignored",
    )  # fmt: skip
    asyncio.run(wrapped(duck))
    assert (seen[0][0].method, seen[0][0].body) == ("DELETE", 1)


def test_duck_typed_object_missing_attributes_raises_attribute_error() -> None:
    _, wrapped = _capture()
    with pytest.raises(AttributeError, match="response"):  # read first, as published
        asyncio.run(wrapped(SimpleNamespace(method="GET")))
    with pytest.raises(AttributeError, match="path_params"):
        asyncio.run(wrapped(SimpleNamespace(response=RecordingSink())))
    with pytest.raises(AttributeError):  # a Mapping that is not a dict is duck-typed too
        asyncio.run(wrapped(_MappingNotDict()))


class _MappingNotDict:
    def get(self, key: str, default: Any = None) -> Any:
        return default


def test_decorator_form_and_one_positional_parameter() -> None:
    @http
    async def handler(request: StreamRequest, response: StreamResponse) -> None:
        await response.status(201)

    sink = RecordingSink()
    assert asyncio.run(handler({"response": sink, "request_body": body_of()})) is None
    assert sink.frames == [("text", '{"type": "set_status", "status_code": 201}')]
    parameters = list(inspect.signature(handler).parameters)
    assert parameters == ["req"]  # no functools.wraps: the SDK must not see a `metadata` param
    assert handler.__name__ == "wrapper"


def test_stream_request_has_no_response_and_is_not_http_request() -> None:
    assert [f.name for f in fields(StreamRequest)] == [
        "path_params", "query_params", "body", "headers", "method", "request_body",
    ]  # fmt: skip
    assert not issubclass(StreamRequest, HttpRequest)  # test_stream_types.py: not the same


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "path_params": string_maps,
            "query_params": string_maps,
            "headers": string_maps,
            "method": text,
            "body": json_values,
            "path": text,
            "trigger": json_values,
        },
    )
)
@settings(max_examples=100, deadline=None)
def test_dict_reading_matches_the_reference_model_and_leaves_input_alone(
    payload: dict[str, Any],
) -> None:
    seen, wrapped = _capture()
    sink, source = RecordingSink(), body_of()
    full = {**payload, "response": sink, "request_body": source}
    before = snapshot(payload)
    asyncio.run(wrapped(full))
    request, _ = seen[0]
    # Reference model: reference §2, step 2.
    assert request.path_params == payload.get("path_params", {})
    assert request.query_params == payload.get("query_params", {})
    assert request.headers == payload.get("headers", {})
    assert request.method == payload.get("method", "GET")
    assert request.body == payload.get("body")
    assert request.request_body is source
    assert payload == before
