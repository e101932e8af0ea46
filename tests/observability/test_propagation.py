"""``traceparent`` and ``baggage``: round trips, the published package on the same headers, and
behaviour with no tracer provider configured (the default: no ``init_otel``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from iii_helpers.observability import telemetry as upstream
from opentelemetry import baggage, context, trace

from iii_core.observability import (
    current_span_id,
    current_span_is_recording,
    current_trace_id,
    extract_baggage,
    extract_traceparent,
    inject_baggage,
    inject_traceparent,
)
from tests.observability.strategies import SETTINGS

trace_ids = st.integers(1, 2**128 - 1)
span_ids = st.integers(1, 2**64 - 1)
flags = st.sampled_from([0, 1])
headers = st.one_of(
    st.text(alphabet="0123456789abcdefABCDEF- \t", max_size=60),
    st.builds(
        lambda t, s, f, v: f"{v}-{t:032x}-{s:016x}-{f:02x}",
        st.integers(0, 2**128 - 1),
        st.integers(0, 2**64 - 1),
        st.integers(0, 255),
        st.sampled_from(["00", "01", "ff", "0g"]),
    ),
)
tokens = st.text(alphabet="abcXYZ019.-_", min_size=1, max_size=6)
values = st.text(alphabet="ab c,;=%é", max_size=6).filter(lambda v: v == v.strip())


@SETTINGS
@given(trace_ids, span_ids, flags)
def test_traceparent_round_trip(trace_id: int, span_id: int, flag: int) -> None:
    header = f"00-{trace_id:032x}-{span_id:016x}-{flag:02x}"
    token = context.attach(extract_traceparent(header))
    try:
        assert inject_traceparent() == header
        assert current_trace_id() == f"{trace_id:032x}"
        assert current_span_id() == f"{span_id:016x}"
        assert current_span_is_recording() is False  # a remote parent is never recording
    finally:
        context.detach(token)


@SETTINGS
@given(headers)
def test_extract_traceparent_matches_published_package(header: str) -> None:
    ours = trace.get_current_span(extract_traceparent(header)).get_span_context()
    published = trace.get_current_span(upstream.extract_traceparent(header)).get_span_context()
    assert ours == published


@SETTINGS
@given(st.dictionaries(tokens, values, min_size=1, max_size=4))
def test_baggage_round_trip(entries: dict[str, str]) -> None:
    ctx = context.Context()
    for key, value in entries.items():
        ctx = baggage.set_baggage(key, value, ctx)
    token = context.attach(ctx)
    try:
        header = inject_baggage()
    finally:
        context.detach(token)
    assert header is not None
    assert dict(baggage.get_all(extract_baggage(header))) == entries
    assert header == upstream_inject(ctx)


def upstream_inject(ctx: context.Context) -> str | None:
    token = context.attach(ctx)
    try:
        return upstream.inject_baggage()
    finally:
        context.detach(token)


@SETTINGS
@given(st.text(alphabet="ab=,; %2C\t", max_size=20))
def test_extract_baggage_matches_published_package(header: str) -> None:
    assert dict(baggage.get_all(extract_baggage(header))) == dict(
        baggage.get_all(upstream.extract_baggage(header))
    )


def test_extract_starts_from_an_empty_context() -> None:
    token = context.attach(baggage.set_baggage("outer", "1"))
    try:
        ctx = extract_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    finally:
        context.detach(token)
    assert baggage.get_all(ctx) == {}


def test_nothing_to_inject_outside_a_span() -> None:
    assert inject_traceparent() is None
    assert inject_baggage() is None
    assert current_trace_id() is None
    assert current_span_id() is None
    assert current_span_is_recording() is False


def test_no_provider_keeps_the_remote_parent() -> None:
    """Without ``init_otel``, the tracer is a no-op that still carries the parent along."""
    header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    token = context.attach(extract_traceparent(header))
    try:
        tracer = trace.NoOpTracer()
        with tracer.start_as_current_span("child"):
            assert inject_traceparent() == header
            assert current_span_is_recording() is False
    finally:
        context.detach(token)
