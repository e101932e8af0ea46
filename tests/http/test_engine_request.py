"""The engine's side of a request: the payload built from an HTTP request (query, headers, path
parameters, JSON body) and route matching."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iii_core.http.engine import (
    engine_request,
    is_json_request,
    match_route,
    parse_json_body,
    path_params,
    query_params,
    request_headers,
)
from tests.http._published import json_values
from tests.jsonvalues import same_json


@pytest.mark.parametrize(
    ("query", "params"),
    [
        (b"", {}),
        (b"a=1&b=2", {"a": "1", "b": "2"}),
        (b"a=1&a=2", {"a": "2"}),  # a repeated key keeps its last value
        (b"flag&&x=", {"flag": "", "x": ""}),
        (b"q=a+b%20c%2B", {"q": "a b c+"}),
        (b"k=%E2%82%AC", {"k": "\u20ac"}),
        (b"k=%FF", {"k": "\ufffd"}),  # invalid UTF-8 is replaced
        (b"k=%zz&%=1", {"k": "%zz", "%": "1"}),  # invalid escapes stay as they are
        (b"a=b=c", {"a": "b=c"}),
        (b"k=\xc3\xa9", {"k": "\xe9"}),  # raw UTF-8 bytes
    ],
)
def test_query_params(query: bytes, params: dict[str, str]) -> None:
    assert query_params(query) == params


@given(st.text(st.characters(max_codepoint=127), max_size=30))
@settings(max_examples=200, deadline=None)
def test_query_params_match_the_form_decoding_model(query: str) -> None:
    model = dict(parse_qsl(query, keep_blank_values=True, errors="replace"))
    assert query_params(query.encode()) == model


def test_request_headers() -> None:
    raw = [
        (b"host", b"example.com"),
        (b"X-Twice", b"first"),
        (b"x-twice", b"second"),
        (b"x-tab", b"a\tb"),
        (b"x-utf8", "é".encode()),
        (b"x-control", b"a\x01"),
    ]
    assert request_headers(raw) == {
        "host": "example.com",
        "x-twice": "second",
        "x-tab": "a\tb",
        "x-utf8": "",
        "x-control": "",
    }


@pytest.mark.parametrize(
    ("route", "path", "params"),
    [
        ("/users/:id", "/users/42", {"id": "42"}),
        ("/users/:id/posts/:post", "/users/1/posts/a%20b", {"id": "1", "post": "a%20b"}),
        ("users/:id/", "//users//7", {"id": "7"}),  # empty segments do not count
        ("/users/:id", "/users/1/extra", {}),
        ("/static", "/static", {}),
        ("/:a/:a", "/x/y", {"a": "y"}),
    ],
)
def test_path_params(route: str, path: str, params: dict[str, str]) -> None:
    assert path_params(route, path) == params


def test_match_route() -> None:
    routes = ["/users/:id", "/users/me", "/:any/me", "/files/:name/raw"]
    assert match_route(routes, "/users/me") == "/users/me"
    assert match_route(routes, "/users/7") == "/users/:id"
    assert match_route(routes, "/x/me") == "/:any/me"
    assert match_route(routes, "/files/a/raw") == "/files/:name/raw"
    assert match_route(routes, "/users/") is None  # a parameter needs a non-empty segment
    assert match_route(routes, "/users/7/") is None
    assert match_route([], "/") is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([(b"content-type", b"application/json")], True),
        ([(b"content-type", b"application/json; charset=utf-8")], True),
        ([(b"content-type", b"application/json-patch+json")], True),  # a substring test
        ([(b"content-type", b"Application/JSON")], False),  # case matters
        ([(b"content-type", b"text/plain"), (b"content-type", b"application/json")], False),
        ([], False),
    ],
)
def test_is_json_request(headers: list[tuple[bytes, bytes]], expected: bool) -> None:
    assert is_json_request(headers) is expected


@pytest.mark.parametrize(
    ("raw", "body"),
    [
        (b'{"z":2, "a":1}', {"z": 2, "a": 1}),
        (b" [1, 2.0] ", [1, 2.0]),
        (b"", None),
        (b"not json", None),
        (b"NaN", None),
        (b'{"a":1} x', None),
        (b"\xef\xbb\xbf{}", None),
        (b"null", None),
    ],
)
def test_parse_json_body(raw: bytes, body: Any) -> None:
    assert parse_json_body(raw) == body


def test_engine_request_payload() -> None:
    sink, source = object(), object()
    payload = engine_request(
        method="POST",
        route="/users/:id",
        path="/users/7",
        query_string=b"page=2",
        headers=[(b"content-type", b"application/json")],
        body={"a": 1},
        request_body=source,
        response=sink,
    )
    assert payload == {
        "query_params": {"page": "2"},
        "path_params": {"id": "7"},
        "headers": {"content-type": "application/json"},
        "path": "/users/:id",
        "method": "POST",
        "body": {"a": 1},
        "trigger": {"type": "http", "path": "/users/:id", "method": "POST"},
        "request_body": source,
        "response": sink,
    }


header_bytes = st.binary(max_size=6)


@given(st.lists(st.tuples(st.sampled_from([b"a", b"B", b"x-y"]), header_bytes), max_size=6))
@settings(max_examples=200, deadline=None)
def test_request_headers_match_the_model(raw: list[tuple[bytes, bytes]]) -> None:
    before = list(raw)
    model: dict[str, str] = {}
    for name, value in raw:
        visible = all(b == 9 or 32 <= b <= 126 for b in value)
        model[name.decode().lower()] = value.decode() if visible else ""
    assert request_headers(raw) == model
    assert raw == before


segments = st.sampled_from(["users", ":id", ":post", "me", ""])


@given(st.lists(segments, max_size=4).map("/".join), st.lists(segments, max_size=4).map("/".join))
@settings(max_examples=300, deadline=None)
def test_path_params_and_matching_agree(route: str, path: str) -> None:
    route_parts = [s for s in route.split("/") if s]
    path_parts = [s for s in path.split("/") if s]
    params = path_params(route, path)
    if len(route_parts) != len(path_parts):
        assert params == {}
    else:
        model = {
            r[1:]: p for r, p in zip(route_parts, path_parts, strict=True) if r.startswith(":")
        }
        assert params == model
    if match_route([route], path) is not None:
        assert route.count("/") == path.count("/")  # same segments, empty ones included
        assert all(
            r == p or (r.startswith(":") and p)
            for r, p in zip(route.split("/"), path.split("/"), strict=True)
        )


@given(json_values)
@settings(max_examples=200, deadline=None)
def test_parse_json_body_round_trips(value: Any) -> None:
    assert same_json(parse_json_body(json.dumps(value).encode()), value)
