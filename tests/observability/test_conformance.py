"""Every observability vector of ../shared/conformance/helpers.json (iii-helpers 0.20.0)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from opentelemetry import baggage, context, trace

from iii_core import encode
from iii_core.observability import (
    DEFAULT_ALLOWLIST,
    OtelConfig,
    ReconnectionConfig,
    extract_baggage,
    extract_traceparent,
    inject_baggage,
    inject_traceparent,
    redact,
    redact_and_truncate,
    resolve_max_bytes_from_env,
)
from iii_core.observability._settings import engine_otel_url
from tests.conformance.vectors import helpers_vectors
from tests.jsonvalues import same_json
from tests.observability.pyvalues import same_python

HERE = Path(__file__).parent
VECTORS: list[dict[str, Any]] = list(helpers_vectors().values())

ENGINE_URL = "_append_otel_path (init_otel engine URL)"
OBSERVABILITY = {
    "redact",
    "redact_and_truncate",
    "resolve_max_bytes_from_env",
    "extract_traceparent",
    "extract_baggage",
    "inject_traceparent",
    "inject_baggage",
    ENGINE_URL,
    "OtelConfig()",
    "ReconnectionConfig()",
    "DEFAULT_ALLOWLIST",
}


class _StrRaisesTypeError:
    def __str__(self) -> str:
        raise TypeError("no text")


_SET = {1, 2}
# Inputs the vectors can only describe in words (tuples, sets, floats JSON lacks, objects).
PYTHON_INPUTS: dict[str, Any] = {
    "redact-15": {"items": ({"token": "t", "user": "u"},)},
    "redact-16": {"s": _SET},
    "redact_and_truncate-24": {"a": float("inf")},
    "redact_and_truncate-25": {"x": b"ab"},
    "redact_and_truncate-26": {"o": _StrRaisesTypeError()},
}
PYTHON_EXPECTED: dict[str, Any] = {
    "redact-15": {"items": ({"token": "[REDACTED]", "user": "u"},)},
    "redact-16": {"s": _SET},  # the same set object, returned as is
}
_DESCRIBED = re.compile(r"^(TUPLE|SET)\(|^\{'")


def _vectors(function: str) -> list[Any]:
    return [pytest.param(v, id=v["id"]) for v in VECTORS if v["function"] == function]


def _input(vector: dict[str, Any]) -> Any:
    if vector["id"] in PYTHON_INPUTS:
        return PYTHON_INPUTS[vector["id"]]
    return (
        vector["input"]["value"] if vector["function"] == "redact_and_truncate" else vector["input"]
    )


def _described_in_words(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str) and _DESCRIBED.search(node):
            return True
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def test_every_observability_function_has_vectors() -> None:
    """Each function below is parametrised over all of its vectors, whatever their number."""
    assert {v["function"] for v in VECTORS} >= OBSERVABILITY


def test_inputs_described_in_words_are_all_translated() -> None:
    described = {
        v["id"]
        for v in VECTORS
        if v["function"] in ("redact", "redact_and_truncate") and _described_in_words(v["input"])
    }
    assert described == set(PYTHON_INPUTS)


@pytest.mark.parametrize("vector", _vectors("redact"))
def test_redact(vector: dict[str, Any]) -> None:
    expected = PYTHON_EXPECTED.get(vector["id"], vector["expected"])
    assert same_python(redact(_input(vector)), expected)


@pytest.mark.parametrize("vector", _vectors("redact_and_truncate"))
def test_redact_and_truncate(vector: dict[str, Any]) -> None:
    text, truncated = redact_and_truncate(_input(vector), vector["input"]["max_bytes"])
    expected = vector["expected"]
    assert (text, truncated) == (expected["json"], expected["truncated"])
    if "json_utf8_bytes" in expected:
        assert len(text.encode()) == expected["json_utf8_bytes"]


@pytest.mark.parametrize("vector", _vectors("resolve_max_bytes_from_env"))
def test_resolve_max_bytes_from_env(
    vector: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = vector["input"]["env"]
    assert resolve_max_bytes_from_env(env) == vector["expected"]
    for name, value in env.items():  # and from os.environ, the default
        monkeypatch.setenv(name, value)
    assert resolve_max_bytes_from_env() == vector["expected"]


def test_resolve_max_bytes_from_env_unset() -> None:
    assert resolve_max_bytes_from_env({}) is None
    assert resolve_max_bytes_from_env() is None


@pytest.mark.parametrize("vector", _vectors("extract_traceparent"))
def test_extract_traceparent(vector: dict[str, Any]) -> None:
    ctx = extract_traceparent(vector["input"])
    expected = vector["expected"]
    assert (len(ctx) == 0) is expected["context_is_empty"]
    span_context = trace.get_current_span(ctx).get_span_context()
    assert span_context.is_valid is expected["valid"]
    if expected["valid"]:
        assert span_context.is_remote is expected["is_remote"]
        assert trace.format_trace_id(span_context.trace_id) == expected["trace_id"]
        assert trace.format_span_id(span_context.span_id) == expected["span_id"]
        assert span_context.trace_flags == expected["trace_flags"]


@pytest.mark.parametrize("vector", _vectors("extract_baggage"))
def test_extract_baggage(vector: dict[str, Any]) -> None:
    ctx = extract_baggage(vector["input"])
    assert dict(baggage.get_all(ctx)) == vector["expected"]["entries"]
    assert (len(ctx) == 0) is vector["expected"]["context_is_empty"]


def _attached(active_context: str) -> Iterator[None]:
    if active_context == "none":
        yield
        return
    match = re.fullmatch(
        r"attach\((extract_traceparent|extract_baggage)\('([^']*)'\)\)", active_context
    )
    assert match, active_context
    extract = extract_traceparent if match[1] == "extract_traceparent" else extract_baggage
    token = context.attach(extract(match[2]))
    try:
        yield
    finally:
        context.detach(token)


@pytest.mark.parametrize("vector", _vectors("inject_traceparent") + _vectors("inject_baggage"))
def test_inject(vector: dict[str, Any]) -> None:
    inject = inject_traceparent if vector["function"] == "inject_traceparent" else inject_baggage
    for _ in _attached(vector["input"]["active_context"]):
        assert inject() == vector["expected"]


@pytest.mark.parametrize("vector", _vectors(ENGINE_URL))
def test_engine_otel_url(vector: dict[str, Any]) -> None:
    assert engine_otel_url(vector["input"]) == vector["expected"]


@pytest.mark.parametrize("vector", _vectors("OtelConfig()"))
def test_otel_config_defaults(vector: dict[str, Any]) -> None:
    """A documented None default is absent (UNSET) here; every other default is equal."""
    config = OtelConfig()
    encoded = msgspec.json.decode(encode(config))
    expected = vector["expected"]
    assert encoded == {k: v for k, v in expected.items() if v is not None}
    for name, value in expected.items():
        if value is None:
            assert getattr(config, name) is msgspec.UNSET


@pytest.mark.parametrize("vector", _vectors("ReconnectionConfig()"))
def test_reconnection_config_defaults(vector: dict[str, Any]) -> None:
    assert same_json(msgspec.json.decode(encode(ReconnectionConfig())), vector["expected"])


@pytest.mark.parametrize("vector", _vectors("DEFAULT_ALLOWLIST"))
def test_default_allowlist(vector: dict[str, Any]) -> None:
    assert type(DEFAULT_ALLOWLIST) is tuple
    assert tuple(vector["expected"]) == DEFAULT_ALLOWLIST
