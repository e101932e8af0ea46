"""The auth hook's input and context, with the engine's examples (errata 7)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from iii_core._generated.stream import StreamAuthResult
from iii_core.subscriptions import auth_context, stream_auth_input


def wire(value: Any) -> Any:
    return msgspec.json.decode(msgspec.json.encode(value))


def test_query_params_are_neither_decoded_nor_given_empty_keys() -> None:
    got = stream_auth_input("/?a=1&a=2&c=&=x&&d&e=%20+f&g=h=i", [], ("127.0.0.1", 5000))
    assert got.query_params == {
        "a": ["1", "2"],
        "c": [""],
        "d": [""],
        "e": ["%20+f"],
        "g": ["h=i"],
    }
    assert got.path == "/"
    assert got.addr == "127.0.0.1:5000"


def test_headers_are_lowercased_last_value_wins_and_non_visible_ascii_dropped() -> None:
    got = stream_auth_input(
        "/ws",
        [
            ("Authorization", "Bearer one"),
            ("authorization", "Bearer two"),
            ("X-Name", "caf\xc3\xa9"),  # UTF-8 bytes of "café", read as ISO-8859-1
            ("X-Tab", "a\tb"),
            ("X-Bell", "a\x07"),
        ],
        ("::1", 443),
    )
    assert wire(got) == {
        "headers": {"authorization": "Bearer two", "x-tab": "a\tb"},
        "path": "/ws",
        "query_params": {},
        "addr": "[::1]:443",
    }


@pytest.mark.parametrize(
    ("result", "context"),
    [
        (None, None),
        ("token", None),
        ([1], None),
        ({}, None),
        ({"context": None}, None),
        ({"context": {"user": "alice"}, "other": 1}, {"user": "alice"}),
        (StreamAuthResult(), None),
        (StreamAuthResult(context=[1, 2]), [1, 2]),
    ],
)
def test_auth_context(result: Any, context: Any) -> None:
    assert auth_context(result) == context
