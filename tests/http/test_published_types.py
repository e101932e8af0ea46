"""The JSON forms of the ``http`` and ``queue`` types against iii-helpers 0.20.0 (pydantic), on
generated inputs, with each deliberate difference tested on its own."""

from __future__ import annotations

import json
from typing import Any

import iii_helpers.http as published_http
import iii_helpers.queue as published_queue
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iii_core import decode, encode
from iii_core.http import (
    HttpAuthApiKey,
    HttpAuthBearer,
    HttpAuthConfig,
    HttpAuthHmac,
    HttpInvocationConfig,
    HttpMethod,
    HttpRequest,
    HttpResponse,
)
from iii_core.queue import EnqueueResult
from tests.conformance.vectors import helpers_vectors
from tests.http._published import (
    REFUSED,
    assert_same_json_form,
    json_values,
    near,
    ours,
    string_lists,
    string_maps,
    text,
)
from tests.jsonvalues import same_json

HERE_COPY: dict[str, Any] = {
    # ../shared/conformance/helpers.json, the one vector about these modules' types.
    "id": "model_dump-18",
    "function": "model_dump",
    "input": "HttpResponse(statusCode=201, body={'a':1}).model_dump(by_alias=True)",
    "expected": {"statusCode": 201, "body": {"a": 1}, "headers": {}},
}

hmac = near({"type": st.just("hmac"), "secret_key": text})
bearer = near({"type": st.just("bearer"), "token_key": text})
api_key = near({"type": st.just("api_key"), "header": text, "value_key": text})
auths = st.one_of(hmac, bearer, api_key)
methods = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "get"])
multi = st.dictionaries(text, st.one_of(text, string_lists), max_size=3)
SETTINGS = settings(max_examples=150, deadline=None)


def test_the_shared_vector_is_the_one_copied_here() -> None:
    shared = helpers_vectors()[HERE_COPY["id"]]
    assert {k: v for k, v in shared.items() if k != "source"} == HERE_COPY


def test_conformance_model_dump_18_published_and_ours() -> None:
    # The published model dumps the alias; iii-core encodes the same response with the name the
    # engine reads (README: `status_code`, not `statusCode`).
    model: published_http.HttpResponse[Any] = published_http.HttpResponse(
        statusCode=201, body={"a": 1}
    )
    assert model.model_dump(by_alias=True) == HERE_COPY["expected"]
    mine = json.loads(encode(HttpResponse(status_code=201, body={"a": 1})))
    renamed = {
        "status_code" if k == "statusCode" else k: v for k, v in HERE_COPY["expected"].items()
    }
    assert mine == renamed


@given(hmac)
@SETTINGS
def test_hmac(data: dict[str, Any]) -> None:
    assert_same_json_form(HttpAuthHmac, published_http.HttpAuthHmac, data)


@given(bearer)
@SETTINGS
def test_bearer(data: dict[str, Any]) -> None:
    assert_same_json_form(HttpAuthBearer, published_http.HttpAuthBearer, data)


@given(api_key)
@SETTINGS
def test_api_key(data: dict[str, Any]) -> None:
    assert_same_json_form(HttpAuthApiKey, published_http.HttpAuthApiKey, data)


@given(auths)
@SETTINGS
def test_auth_config(data: dict[str, Any]) -> None:
    if "type" not in data:  # difference: the tag is required (see test_auth_config_needs_its_tag)
        assert ours(HttpAuthConfig, data) == REFUSED
        return
    assert_same_json_form(HttpAuthConfig, published_http.HttpAuthConfig, data)


@given(st.one_of(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]), methods, json_values))
@SETTINGS
def test_method(data: Any) -> None:
    assert_same_json_form(HttpMethod, published_http.HttpMethod, data)


@given(
    near(
        {
            "url": text,
            "method": methods,
            "timeout_ms": st.one_of(st.none(), st.integers(-(2**70), 2**70)),
            "headers": st.one_of(st.none(), string_maps),
            "auth": st.one_of(st.none(), auths),
        }
    )
)
@SETTINGS
def test_invocation_config(data: dict[str, Any]) -> None:
    auth = data.get("auth")
    if isinstance(auth, dict) and "type" not in auth:
        assert ours(HttpInvocationConfig, data) == REFUSED
        return
    assert_same_json_form(
        HttpInvocationConfig,
        published_http.HttpInvocationConfig,
        data,
        none_defaults=("timeout_ms", "headers", "auth"),
    )


@given(
    near(
        {
            "path_params": string_maps,
            "query_params": multi,
            "body": json_values,
            "headers": multi,
            "method": text,
        }
    )
)
@SETTINGS
def test_request(data: dict[str, Any]) -> None:
    assert_same_json_form(HttpRequest, published_http.HttpRequest, data, none_defaults=("body",))


def _response_input(data: dict[str, Any]) -> dict[str, Any]:
    """The documented differences of HttpResponse, applied to what pydantic is given."""
    given = {k: v for k, v in data.items() if k != "statusCode"}  # ignored, as the engine does
    given.setdefault("status_code", 200)  # optional, 200 when absent, as in the engine
    headers = given.get("headers")
    if isinstance(headers, list) and all(isinstance(line, str) for line in headers):
        given["headers"] = {}  # the engine's "Name: value" lines: restored in the output
    return given


def _response_output(dump: Any, data: dict[str, Any]) -> Any:
    headers = data.get("headers")
    if isinstance(headers, list):
        return {**dump, "headers": headers}
    return dump


@given(
    near(
        {
            "status_code": st.integers(-(2**70), 2**70),
            "statusCode": st.integers(100, 599),
            "body": json_values,
            "headers": st.one_of(string_maps, string_lists),
        }
    )
)
@SETTINGS
def test_response(data: dict[str, Any]) -> None:
    assert_same_json_form(
        HttpResponse,
        published_http.HttpResponse,
        data,
        none_defaults=("body",),
        published_input=_response_input,
        published_output=_response_output,
    )


@given(near({"messageReceiptId": text, "message_receipt_id": text}))
@SETTINGS
def test_enqueue_result(data: dict[str, Any]) -> None:
    assert_same_json_form(EnqueueResult, published_queue.EnqueueResult, data)


# --- each deliberate difference, explicitly ------------------------------------------------------


def test_response_encodes_status_code_and_ignores_status_code_alias() -> None:
    assert ours(HttpResponse, {"statusCode": 404}) == {"status_code": 200, "headers": {}}
    published: published_http.HttpResponse[Any] = published_http.HttpResponse.model_validate(
        {"statusCode": 404}
    )
    assert published.model_dump(mode="json") == {"status_code": 404, "body": None, "headers": {}}
    assert published.model_dump(by_alias=True)["statusCode"] == 404  # what the SDK sends


def test_response_status_code_is_optional() -> None:
    assert ours(HttpResponse, {}) == {"status_code": 200, "headers": {}}
    assert ours(published_http.HttpResponse, {}) == REFUSED


def test_response_headers_may_be_lines() -> None:
    assert ours(HttpResponse, {"headers": ["X-A: 1"]}) == {
        "status_code": 200,
        "headers": ["X-A: 1"],
    }
    assert ours(published_http.HttpResponse, {"status_code": 200, "headers": ["X-A: 1"]}) == REFUSED


def test_auth_config_needs_its_tag() -> None:
    adapter: Any = published_http.HttpAuthConfig
    assert type(decode(b'{"type": "bearer", "token_key": "T"}', HttpAuthConfig)) is HttpAuthBearer
    assert ours(HttpAuthConfig, {"token_key": "T"}) == REFUSED
    from pydantic import TypeAdapter

    assert TypeAdapter(adapter).validate_python({"token_key": "T"}).type == "bearer"


@pytest.mark.parametrize(
    ("cls", "published", "data"),
    [
        (HttpResponse, published_http.HttpResponse, {"status_code": "404"}),
        (HttpResponse, published_http.HttpResponse, {"status_code": 404.0}),
        (HttpResponse, published_http.HttpResponse, {"status_code": True}),
        (
            HttpInvocationConfig,
            published_http.HttpInvocationConfig,
            {"url": "u", "timeout_ms": "5"},
        ),
    ],
)
def test_no_lax_coercion(cls: Any, published: Any, data: dict[str, Any]) -> None:
    assert ours(cls, data) == REFUSED
    assert published.model_validate(data) is not None  # pydantic's lax mode takes it


def test_absent_optional_fields_stay_absent() -> None:
    assert ours(HttpRequest, {}) == {
        "path_params": {},
        "query_params": {},
        "headers": {},
        "method": "GET",
    }
    dump = published_http.HttpRequest().model_dump(mode="json")
    assert dump["body"] is None
    assert same_json(ours(HttpRequest, {"body": None})["body"], None)
    assert ours(HttpInvocationConfig, {"url": "u"}) == {"url": "u", "method": "POST"}
