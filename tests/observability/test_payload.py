"""``redact``, ``redact_and_truncate`` and ``resolve_max_bytes_from_env``: properties, a
reference model, and the published package (iii-helpers 0.20.0) on the same generated inputs."""

from __future__ import annotations

import json
import os
import re
from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st
from iii_helpers.observability import payload as upstream

from iii_core.observability import (
    REDACTED_PLACEHOLDER,
    redact,
    redact_and_truncate,
    resolve_max_bytes_from_env,
)
from iii_core.observability._payload import TRUNCATION_MARKER
from tests.observability.pyvalues import mutable_container_ids, same_python
from tests.observability.strategies import SETTINGS, env_values, json_payloads, keys, payloads

# The reference model: the documented rules, written out as plainly as possible.
FRAGMENTS = (
    "api_key", "apikey", "api-key", "password", "secret", "credential", "authorization",
    "auth_token", "access_token", "refresh_token", "bearer", "private_key", "client_secret",
)  # fmt: skip


def reference_sensitive(key: str) -> bool:
    lower = key.lower()
    return (
        any(f in lower for f in FRAGMENTS)
        or re.fullmatch(r"(.*[_-])?token", lower, re.S) is not None
    )


def reference_redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: REDACTED_PLACEHOLDER if reference_sensitive(k) else reference_redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [reference_redact(v) for v in value]
    if isinstance(value, tuple):
        return tuple(reference_redact(v) for v in value)
    return value


max_bytes = st.one_of(st.none(), st.integers(-3, 40), st.integers(41, 400))


@SETTINGS
@given(keys)
def test_key_rule_matches_the_reference(key: str) -> None:
    assert (redact({key: 1})[key] == REDACTED_PLACEHOLDER) is reference_sensitive(key)


@SETTINGS
@given(payloads())
def test_redact_equals_the_reference_model(value: Any) -> None:
    assert same_python(redact(value), reference_redact(value))


@SETTINGS
@given(payloads())
def test_redact_never_mutates_and_shares_no_mutable_container(value: Any) -> None:
    before = repr(value)
    result = redact(value)
    assert repr(value) == before
    assert not mutable_container_ids(result) & mutable_container_ids(value)


@SETTINGS
@given(payloads())
def test_redact_is_idempotent(value: Any) -> None:
    once = redact(value)
    assert same_python(redact(once), once)


@SETTINGS
@given(payloads())
def test_redact_matches_published_package(value: Any) -> None:
    assert same_python(redact(value), upstream.redact(value))


@SETTINGS
@given(payloads(), max_bytes)
def test_redact_and_truncate_matches_published_package(value: Any, limit: int | None) -> None:
    assert redact_and_truncate(value, limit) == upstream.redact_and_truncate(value, limit)


@SETTINGS
@given(json_payloads)
def test_json_round_trip(value: Any) -> None:
    text, truncated = redact_and_truncate(value)
    assert not truncated
    assert json.loads(text) == reference_redact(value)


@SETTINGS
@given(payloads(), st.integers(1, 300))
def test_truncation_bound_marker_and_prefix(value: Any, limit: int) -> None:
    full, _ = redact_and_truncate(value)
    text, truncated = redact_and_truncate(value, limit)
    size = len(text.encode())
    assert truncated is (len(full.encode()) > limit)
    if not truncated:
        assert text == full
    elif limit <= len(TRUNCATION_MARKER):
        assert text == TRUNCATION_MARKER[:limit]
    else:
        assert size <= limit
        assert text.endswith(TRUNCATION_MARKER)
        kept = text[: -len(TRUNCATION_MARKER)]
        assert full.startswith(kept)
        # Cut at the last code point that fits: one more would not have.
        assert len(full[: len(kept) + 1].encode()) > limit - len(TRUNCATION_MARKER.encode())


@SETTINGS
@given(env_values)
def test_resolve_max_bytes_equals_the_reference(raw: str) -> None:
    trimmed = raw.strip()
    try:
        expected = int(trimmed) if trimmed.lower() != "unlimited" else None
    except ValueError:
        expected = None
    if expected is not None and expected <= 0:
        expected = None
    assert resolve_max_bytes_from_env({"III_TRACE_PAYLOAD_MAX_BYTES": raw}) == expected


@SETTINGS
@given(env_values)
def test_resolve_max_bytes_matches_published_package(raw: str) -> None:
    with mock.patch.dict(os.environ, {"III_TRACE_PAYLOAD_MAX_BYTES": raw}):
        assert resolve_max_bytes_from_env() == upstream.resolve_max_bytes_from_env()


def test_lone_surrogate_with_a_cap_raises_as_published() -> None:
    """Same behaviour as the published package: the text cannot be UTF-8 encoded."""
    value = {"v": "\ud800" * 30}
    assert redact_and_truncate(value) == upstream.redact_and_truncate(value)
    with pytest.raises(UnicodeEncodeError):
        upstream.redact_and_truncate(value, 10)
    with pytest.raises(UnicodeEncodeError):
        redact_and_truncate(value, 10)
