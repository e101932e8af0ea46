"""The ``http`` crate's header rules, written once (``iii_core._header_rules``), against simple
reference models, and their users: response headers, handler request headers, the stream auth
input and the ``/otel`` handshake config."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from iii_core._header_rules import is_header_name, is_response_header_value, is_visible_ascii
from iii_core.http.engine._headers import request_header_value, response_headers
from iii_core.subscriptions._auth import stream_auth_input

TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~]+")
texts = st.text(st.characters(codec="utf-8", max_codepoint=0x3000), max_size=8)
SETTINGS = settings(max_examples=400, deadline=None)


@SETTINGS
@given(texts)
def test_rules_equal_their_reference_models(text: str) -> None:
    assert is_header_name(text) is (TOKEN.fullmatch(text) is not None)
    assert is_visible_ascii(text) is all(c == "\t" or 0x20 <= ord(c) <= 0x7E for c in text)
    assert is_response_header_value(text) is all(
        c == "\t" or (ord(c) >= 0x20 and ord(c) != 0x7F) for c in text
    )


def test_rule_cases() -> None:
    assert not is_header_name("")
    assert not is_header_name("a b")
    assert is_header_name("X-Iii-Tenant")
    assert is_visible_ascii("") and is_visible_ascii("a b\t~")
    assert not is_visible_ascii("é") and not is_visible_ascii("\x7f") and not is_visible_ascii("\n")
    assert is_response_header_value("é") and not is_response_header_value("\x7f")


@SETTINGS
@given(st.lists(st.tuples(texts, texts), max_size=4), st.binary(max_size=8))
def test_users_apply_the_one_rule(pairs: list[tuple[str, str]], raw: bytes) -> None:
    before = list(pairs)
    kept = response_headers(pairs)
    assert pairs == before
    assert kept == tuple(
        (n.lower(), v) for n, v in pairs if is_header_name(n) and is_response_header_value(v)
    )
    text = raw.decode("latin-1")
    assert request_header_value(raw) == (text if is_visible_ascii(text) else "")
    auth = stream_auth_input("/p", pairs, ("127.0.0.1", 1))
    assert auth.headers == {n.lower(): v for n, v in pairs if is_visible_ascii(v)}
