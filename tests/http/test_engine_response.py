"""The engine's side of a response: buffered responses (``from_function_return`` and its
rendering), control messages, and the response assembled from a handler's frames and outcome."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iii_core.http import HttpResponse
from iii_core.http.engine import (
    NOT_FOUND,
    BufferedResponse,
    ResponseAssembler,
    ResponseEvent,
    StreamAbort,
    StreamChunk,
    StreamEnd,
    StreamStart,
    apply_control_message,
    buffered_response,
    error_response,
)
from tests.http._published import json_values, text
from tests.jsonvalues import snapshot

JSON = ("content-type", "application/json")


def body_json(response: BufferedResponse) -> Any:
    return json.loads(response.body)


# --- buffered responses: the engine's own test cases (rest_api/types.rs) --------------------------


def test_full_value_with_header_lines() -> None:
    response = buffered_response(
        {
            "status_code": 201,
            "headers": ["Content-Type: application/json", "X-Custom: value"],
            "body": {"key": "value"},
        }
    )
    assert response.status == 201
    assert response.headers == (("content-type", "application/json"), ("x-custom", "value"))
    assert body_json(response) == {"key": "value"}


def test_object_headers_and_user_content_type_for_a_string_body() -> None:
    response = buffered_response(
        {"status_code": 200, "headers": {"Content-Type": "text/xml"}, "body": "<Response/>"}
    )
    assert response.headers == (("content-type", "text/xml"),)
    assert response.body == b"<Response/>"


def test_defaults() -> None:
    assert buffered_response({}) == BufferedResponse(200, (JSON,), b"{}")  # body {} when absent
    assert buffered_response({"status_code": 404}).headers == (JSON,)
    assert buffered_response({"status_code": 204}).body == b"{}"
    assert buffered_response({"headers": None}).headers == (JSON,)
    assert buffered_response({"status_code": "not_a_number"}).status == 200
    assert buffered_response({"status_code": 500}).status == 500


def test_invalid_header_entries_are_dropped() -> None:
    response = buffered_response({"headers": ["X-A: one", 123, None, "no-colon", "X-B: two"]})
    assert response.headers == (("x-a", "one"), ("x-b", "two"), JSON)


def test_bodies() -> None:
    assert buffered_response({"body": "plain text"}).body == b'"plain text"'
    assert buffered_response({"body": [1, 2, 3]}).body == b"[1,2,3]"
    assert buffered_response({"body": None}).body == b"null"
    custom = buffered_response(
        {"headers": {"X-Custom": "abc", "Content-Type": "text/plain"}, "body": "hello"}
    )
    assert custom.headers == (("x-custom", "abc"), ("content-type", "text/plain"))
    assert custom.body == b"hello"


@pytest.mark.parametrize(
    ("headers", "body", "expected_body", "expected_headers"),
    [
        ({"content-type": "text/plain"}, None, b"", (("content-type", "text/plain"),)),
        ({"content-type": "text/plain"}, {"a": 1}, b'{"a":1}', (("content-type", "text/plain"),)),
        (
            {"Content-Type": "Application/JSON; charset=utf-8"},
            "s",
            b"s",
            (("content-type", "Application/JSON; charset=utf-8"),),
        ),
        (
            {"content-type": "application/json"},
            {"a": 1},
            b'{"a":1}',
            (("content-type", "application/json"),),
        ),
        # an invalid JSON content-type value is skipped; the body then gets the default type
        ({"content-type": "application/json\x01"}, {"a": 1}, b'{"a":1}', (JSON,)),
        # another invalid content type: the body is JSON text, sent with no content type
        ({"content-type": "bad\x01"}, {"a": 1}, b'{"a":1}', ()),
        # ... but a string body with it stays text, and no content type is sent at all
        ({"content-type": "bad\x01"}, "s", b"s", ()),
    ],
)
def test_content_type_decides_the_body(
    headers: dict[str, str], body: Any, expected_body: bytes, expected_headers: Any
) -> None:
    response = buffered_response({"headers": headers, "body": body})
    assert (response.body, response.headers) == (expected_body, expected_headers)


@pytest.mark.parametrize(
    ("status_code", "status"),
    [(99, 200), (100, 100), (599, 599), (600, 600), (999, 999), (1000, 200), (-1, 200),
     (200.0, 200), (True, 200), (65536 + 201, 201), (2**64 + 201, 200)],
)  # fmt: skip
def test_status_is_a_u64_truncated_to_u16(status_code: Any, status: int) -> None:
    assert buffered_response({"status_code": status_code}).status == status


def test_header_lines_split_at_the_first_colon_and_trim() -> None:
    response = buffered_response({"headers": [" X-A :  a:b ", ": v", "  : v", "X-B:"]})
    assert response.headers == (("x-a", "a:b"), ("x-b", ""), JSON)


def test_a_result_that_is_not_an_object_reads_as_empty() -> None:
    for result in ("hi", 5, [1], True):
        assert buffered_response(result) == BufferedResponse(200, (JSON,), b"{}")


def test_error_and_not_found() -> None:
    error = error_response("boom", "1a2b")
    assert (error.status, error.headers, body_json(error)) == (
        500,
        (JSON,),
        {"error": "boom", "error_id": "1a2b"},
    )
    assert (NOT_FOUND.status, NOT_FOUND.body) == (404, b"Not Found")


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
header_text = st.text(st.sampled_from("Aa-_: \t\x01\x7fé/;json"), max_size=8)


def reference_buffered(result: Any) -> tuple[int, list[tuple[str, str]], Any, str | None]:
    """A model of the engine's buffered response: status, headers, body as JSON or text, and
    how the body was written ("json", "text", "empty")."""
    fields = result if isinstance(result, dict) else {}
    code = fields.get("status_code")
    status = 200
    if isinstance(code, int) and not isinstance(code, bool) and 0 <= code < 2**64:
        status = code % 65536 if 100 <= code % 65536 < 1000 else 200
    raw = fields.get("headers")
    pairs: list[tuple[str, str]] = []
    if isinstance(raw, list):
        for line in raw:
            if isinstance(line, str) and ":" in line:
                name, value = line.split(":", 1)
                if name.strip():
                    pairs.append((name.strip(), value.strip()))
    elif isinstance(raw, dict):
        pairs = [(k, v) for k, v in raw.items() if isinstance(v, str)]
    user_type = next((v for k, v in pairs if k.lower() == "content-type"), None)
    valid = [(k.lower(), v) for k, v in pairs if _TOKEN.fullmatch(k) and not _CONTROL.search(v)]
    body = fields.get("body", {})
    if user_type is not None and isinstance(body, str):
        return status, valid, body, "text"
    if user_type is not None and body is None:
        return status, valid, "", "empty"
    if user_type is not None and "application/json" not in user_type.lower():
        return status, valid, body, "json"
    if not any(k == "content-type" for k, _ in valid):
        valid.append(JSON)
    return status, valid, body, "json"


@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {},
            optional={
                "status_code": st.one_of(st.integers(-5, 70000), json_values),
                "headers": st.one_of(
                    st.lists(st.one_of(header_text, json_values), max_size=4),
                    st.dictionaries(header_text, st.one_of(header_text, json_values), max_size=4),
                    json_values,
                ),
                "body": json_values,
            },
        ),
    )
)
@settings(max_examples=300, deadline=None)
def test_buffered_response_matches_the_model_and_leaves_input_alone(result: Any) -> None:
    before = snapshot(result)
    response = buffered_response(result)
    assert result == before
    status, headers, body, kind = reference_buffered(result)
    assert (response.status, list(response.headers)) == (status, headers)
    if kind == "json":
        assert json.loads(response.body) == body
    else:
        assert response.body == body.encode()


def test_a_returned_http_response_struct_is_read_by_its_wire_form() -> None:
    assembler = ResponseAssembler()
    [response] = assembler.on_return(HttpResponse(status_code=201, headers={"x-a": "1"}))
    assert response == BufferedResponse(201, (("x-a", "1"), JSON), b"{}")  # absent body is {}


# --- control messages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "status", "headers"),
    [
        ('{"type": "set_status", "status_code": 404}', 404, {}),
        ('{"type":"set_status","status_code":100}', 100, {}),
        ('{"type": "set_status", "status_code": 99}', 200, {}),
        ('{"type": "set_status", "status_code": 600}', 200, {}),
        ('{"type": "set_status", "status_code": 404.0}', 200, {}),
        ('{"type": "set_status", "status_code": "404"}', 200, {}),
        ('{"type": "set_headers", "headers": {"a": "1", "b": 2, "c": null}}', 200, {"a": "1"}),
        ('{"type": "set_headers", "headers": ["a: 1"]}', 200, {}),
        ('{"type": "other"}', 200, {}),
        ("not json", 200, {}),
        ("[1]", 200, {}),
    ],
)
def test_control_messages(message: str, status: int, headers: dict[str, str]) -> None:
    assert apply_control_message(message, 200, {}) == (status, headers)


def test_later_headers_replace_earlier_ones_and_inputs_stay() -> None:
    start = {"a": "0", "z": "9"}
    status, headers = apply_control_message(
        '{"type": "set_headers", "headers": {"a": "1"}}', 201, start
    )
    assert (status, headers, start) == (201, {"a": "1", "z": "9"}, {"a": "0", "z": "9"})


# --- the assembled response -------------------------------------------------------------------

steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("message"),
            st.one_of(
                st.integers(0, 700).map(
                    lambda c: json.dumps({"type": "set_status", "status_code": c})
                ),
                st.dictionaries(st.sampled_from(["a", "B", "c d"]), text, max_size=2).map(
                    lambda h: json.dumps({"type": "set_headers", "headers": h})
                ),
                text,
            ),
        ),
        st.tuples(st.just("chunk"), st.binary(max_size=3)),
        st.tuples(st.just("close"), st.none()),
        st.tuples(st.just("return"), st.one_of(st.none(), st.just({"status_code": 202}))),
        st.tuples(st.just("error"), text),
    ),
    max_size=10,
)


def _feed(assembler: ResponseAssembler, kind: str, argument: Any) -> list[ResponseEvent]:
    if kind == "message":
        return assembler.on_message(argument)
    if kind == "chunk":
        return assembler.on_chunk(argument)
    if kind == "close":
        return assembler.on_close()
    if kind == "return":
        return assembler.on_return(argument)
    return assembler.on_error(argument, "id")


def reference_response(run: list[tuple[str, Any]]) -> tuple[Any, ...] | None:
    """What the client gets, read off the whole run: the first decisive step picks the kind."""
    decisive = [
        i
        for i, (kind, argument) in enumerate(run)
        if kind in ("chunk", "close", "error") or (kind == "return" and argument is not None)
    ]
    if not decisive:
        return None
    first = decisive[0]
    kind, argument = run[first]
    if kind == "return":
        return ("buffered", buffered_response(argument))
    if kind == "error":
        return ("buffered", error_response(argument, "id"))
    status, headers = 200, dict[str, str]()
    for message_kind, message in run[:first]:
        if message_kind == "message":
            status, headers = apply_control_message(message, status, headers)
    body = b""
    for later_kind, later in run[first:]:
        if later_kind == "chunk":
            body += later
        elif later_kind == "close":
            return ("stream", status, headers, body, "ended")
        elif later_kind == "error":
            return ("stream", status, headers, body, "aborted")
    return ("stream", status, headers, body, "open")


@given(steps)
@settings(max_examples=300, deadline=None)
def test_assembled_response_matches_the_model(run: list[tuple[str, Any]]) -> None:
    assembler = ResponseAssembler()
    events = [event for kind, argument in run for event in _feed(assembler, kind, argument)]
    expected = reference_response(run)
    if expected is None:
        assert events == []
        assert assembler.state == "pending"
    elif expected[0] == "buffered":
        assert events == [expected[1]]
        assert assembler.state == "done"
    else:
        _, status, headers, body, ending = expected
        start = events[0]
        assert isinstance(start, StreamStart)
        assert start.status == status
        assert dict(start.headers) == {
            k.lower(): v
            for k, v in headers.items()
            if _TOKEN.fullmatch(k) and not _CONTROL.search(v)
        }
        chunks = [e for e in events[1:] if isinstance(e, StreamChunk)]
        assert all(chunk.data for chunk in chunks)
        assert b"".join(chunk.data for chunk in chunks) == body
        tail = [e for e in events[1:] if not isinstance(e, StreamChunk)]
        assert tail == {"ended": [StreamEnd()], "aborted": [StreamAbort()], "open": []}[ending]


def test_control_messages_after_the_first_chunk_are_ignored() -> None:
    assembler = ResponseAssembler()
    assembler.on_message('{"type": "set_status", "status_code": 201}')
    assert assembler.on_chunk(b"") == [StreamStart(201, ())]  # an empty chunk starts the stream
    assert assembler.on_message('{"type": "set_status", "status_code": 500}') == []
    assert assembler.on_return({"status_code": 202}) == []
    assert assembler.on_chunk(b"x") == [StreamChunk(b"x")]
    assert assembler.on_close() == [StreamEnd()]
    assert assembler.on_close() == []
    assert assembler.on_error("late", "id") == []


def test_a_buffered_return_drops_earlier_control_messages() -> None:
    assembler = ResponseAssembler()
    assembler.on_message('{"type": "set_status", "status_code": 201}')
    assert assembler.on_return({"body": "x"}) == [BufferedResponse(200, (JSON,), b'"x"')]
    assert assembler.on_chunk(b"late") == []


@given(
    st.one_of(
        st.fixed_dictionaries(
            {"type": st.sampled_from(["set_status", "set_headers", "x"])},
            optional={"status_code": json_values, "headers": json_values},
        ).map(json.dumps),
        text,
    ),
    st.integers(100, 599),
    st.dictionaries(st.sampled_from(["a", "b"]), text, max_size=2),
)
@settings(max_examples=300, deadline=None)
def test_control_messages_match_the_model(
    message: str, status: int, headers: dict[str, str]
) -> None:
    before = dict(headers)
    try:
        control = json.loads(message)
    except ValueError:
        control = None
    expected_status, expected_headers = status, dict(headers)
    if isinstance(control, dict) and control.get("type") == "set_status":
        code = control.get("status_code")
        if type(code) is int and 100 <= code <= 599:
            expected_status = code
    if (
        isinstance(control, dict)
        and control.get("type") == "set_headers"
        and isinstance(control.get("headers"), dict)
    ):
        expected_headers |= {k: v for k, v in control["headers"].items() if type(v) is str}
    assert apply_control_message(message, status, headers) == (expected_status, expected_headers)
    assert headers == before
