"""Reading and annotating the current span, ``with_span``, and ``BaggageSpanProcessor``."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from iii_helpers.observability import BaggageSpanProcessor as PublishedBaggageSpanProcessor
from iii_helpers.observability import telemetry as upstream
from opentelemetry import baggage, context, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind, StatusCode

from iii_core.observability import (
    DEFAULT_ALLOWLIST,
    BaggageSpanProcessor,
    current_span_id,
    current_span_is_recording,
    current_trace_id,
    extract_traceparent,
    inject_traceparent,
    record_span_event,
    set_current_span_attribute,
    set_current_span_error,
    with_span,
)
from tests.observability.strategies import SETTINGS

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_span_helpers_outside_a_span_do_nothing() -> None:
    set_current_span_attribute("a", 1)
    set_current_span_error("nope")
    record_span_event("e", {"a": 1})
    assert current_span_is_recording() is False


def test_with_span_before_init_gets_the_no_op_span() -> None:
    """Deliberate difference: OpenTelemetry's INVALID_SPAN (its span context is the invalid
    one) instead of an ad-hoc object whose get_span_context() returns None."""
    seen: list[trace.Span] = []

    async def body(span: trace.Span) -> str:
        seen.append(span)
        span.set_attribute("a", 1)
        span.add_event("e")
        span.record_exception(ValueError("x"))
        return "done"

    assert asyncio.run(with_span("s", body)) == "done"
    assert seen == [trace.INVALID_SPAN]
    assert seen[0].is_recording() is False
    assert seen[0].get_span_context().is_valid is False

    async def fails(span: trace.Span) -> None:
        raise KeyError("k")

    with pytest.raises(KeyError):
        asyncio.run(with_span("s", fails))


def test_with_span_records_a_span(pipeline_spans: InMemorySpanExporter) -> None:
    async def body(span: trace.Span) -> dict[str, Any]:
        set_current_span_attribute("answer", 42)
        record_span_event("step", {"n": 1})
        return {
            "trace": current_trace_id(),
            "span": current_span_id(),
            "recording": current_span_is_recording(),
            "traceparent": inject_traceparent(),
        }

    seen = asyncio.run(with_span("work", body, kind=SpanKind.SERVER))
    (span,) = pipeline_spans.get_finished_spans()
    assert span.name == "work" and span.kind is SpanKind.SERVER
    assert seen["trace"] == trace.format_trace_id(span.context.trace_id)
    assert seen["span"] == trace.format_span_id(span.context.span_id)
    assert seen["recording"] is True
    assert (
        seen["traceparent"] == f"00-{seen['trace']}-{seen['span']}-{span.context.trace_flags:02x}"
    )
    assert span.attributes == {"answer": 42}
    assert [(e.name, dict(e.attributes or {})) for e in span.events] == [("step", {"n": 1})]
    assert span.status.status_code is StatusCode.OK
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "iii-python-sdk"


def test_with_span_defaults_to_internal_and_nests(pipeline_spans: InMemorySpanExporter) -> None:
    """Deliberate difference: an ERROR set by the function survives its normal return; the
    published with_span overwrites it with OK (see the next test)."""

    async def inner(span: trace.Span) -> None:
        set_current_span_error("bad input")

    async def outer(span: trace.Span) -> None:
        await with_span("inner", inner)

    asyncio.run(with_span("outer", outer))
    spans = {s.name: s for s in pipeline_spans.get_finished_spans()}
    assert spans["outer"].kind is SpanKind.INTERNAL
    assert spans["inner"].parent is not None
    assert spans["inner"].parent.span_id == spans["outer"].context.span_id
    assert spans["inner"].status.status_code is StatusCode.ERROR
    assert spans["inner"].status.description == "bad input"


def test_with_span_traceparent_replaces_the_parent(pipeline_spans: InMemorySpanExporter) -> None:
    async def body(span: trace.Span) -> None:
        """Nothing to do."""

    token = context.attach(baggage.set_baggage("iii.session.id", "S-1"))
    try:
        asyncio.run(with_span("remote", body, traceparent=PARENT))
        asyncio.run(with_span("local", body))
    finally:
        context.detach(token)
    spans = {s.name: s for s in pipeline_spans.get_finished_spans()}
    remote = spans["remote"]
    assert trace.format_trace_id(remote.context.trace_id) == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert remote.parent is not None and remote.parent.is_remote
    assert dict(remote.attributes or {}) == {}  # its parent context carries no baggage
    assert dict(spans["local"].attributes or {}) == {"iii.session.id": "S-1"}


def test_with_span_error_is_recorded_once(pipeline_spans: InMemorySpanExporter) -> None:
    """Deliberate difference: the published with_span records the exception twice and ends
    with the description "ValueError: boom" (OpenTelemetry's context manager repeats it)."""

    async def boom(span: trace.Span) -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        asyncio.run(with_span("fails", boom))
    (span,) = pipeline_spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "boom"
    assert [e.name for e in span.events] == ["exception"]


def _published_tracer(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    """Give the published with_span a tracer without running its init_otel (which would take
    OpenTelemetry's process-wide providers)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(upstream, "_tracer", provider.get_tracer("published"))
    return exporter


def test_published_with_span_records_the_error_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    exporter = _published_tracer(monkeypatch)

    async def boom(span: trace.Span) -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError):
        asyncio.run(upstream.with_span("fails", boom))
    (span,) = exporter.get_finished_spans()
    assert [e.name for e in span.events] == ["exception", "exception"]
    assert span.status.description == "ValueError: boom"


def test_published_with_span_overwrites_an_error_with_ok(monkeypatch: pytest.MonkeyPatch) -> None:
    exporter = _published_tracer(monkeypatch)

    async def marks(span: trace.Span) -> None:
        set_current_span_error("bad input")

    asyncio.run(upstream.with_span("marked", marks))
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.OK


def test_cancellation_propagates_without_marking_the_span(
    pipeline_spans: InMemorySpanExporter,
) -> None:
    async def cancelled(span: trace.Span) -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(with_span("cancelled", cancelled))
    (span,) = pipeline_spans.get_finished_spans()
    assert span.status.status_code is StatusCode.UNSET
    assert span.events == ()


def _provider(
    processor: Any, *, sampled: bool = True
) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=None if sampled else ALWAYS_OFF)
    provider.add_span_processor(processor)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _span_attributes(processor: Any, entries: dict[str, str], *, sampled: bool = True) -> Any:
    provider, exporter = _provider(processor, sampled=sampled)
    ctx = context.Context()
    for key, value in entries.items():
        ctx = baggage.set_baggage(key, value, ctx)
    provider.get_tracer("t").start_span("s", context=ctx).end()
    spans = exporter.get_finished_spans()
    return dict(spans[0].attributes or {}) if spans else None


def test_baggage_processor_default_allowlist() -> None:
    entries = {
        "iii.session.id": "S",
        "iii.message.id": "M",
        "iii.function.id": "F",
        "tenant.id": "T",
        "debug.feature_flag": "on",
    }
    assert _span_attributes(BaggageSpanProcessor(), entries) == {
        "iii.session.id": "S",
        "iii.message.id": "M",
        "iii.function.id": "F",
    }
    assert _span_attributes(BaggageSpanProcessor(), {"iii.session.id": "S"}) == {
        "iii.session.id": "S"
    }


def test_baggage_processor_custom_allowlist_and_sampling() -> None:
    processor = BaggageSpanProcessor(allowlist=["tenant.id", "iii.message.id"])
    entries = {"tenant.id": "T", "iii.message.id": "M", "iii.session.id": "S"}
    assert _span_attributes(processor, entries) == {"tenant.id": "T", "iii.message.id": "M"}
    assert _span_attributes(BaggageSpanProcessor(), entries, sampled=False) is None
    assert BaggageSpanProcessor().force_flush() is True


baggage_keys = st.sampled_from([*DEFAULT_ALLOWLIST, "tenant.id", "x"])


@SETTINGS
@given(st.dictionaries(baggage_keys, st.text(max_size=5), max_size=5), st.booleans())
def test_baggage_processor_matches_published(entries: dict[str, str], custom: bool) -> None:
    """Against 0.20.0 with its allowlist argument; against 0.21.3 and later (no argument:
    every entry) as ``allowlist=None``."""
    if not inspect.signature(PublishedBaggageSpanProcessor).parameters:
        assert _span_attributes(BaggageSpanProcessor(None), entries) == _span_attributes(
            PublishedBaggageSpanProcessor(), entries
        )
        return
    allowlist = ["tenant.id", "iii.session.id"] if custom else list(DEFAULT_ALLOWLIST)
    assert _span_attributes(BaggageSpanProcessor(allowlist), entries) == _span_attributes(
        PublishedBaggageSpanProcessor(allowlist),
        entries,  # type: ignore[call-arg,unused-ignore]
    )


def test_remote_parent_ids_need_no_init() -> None:
    token = context.attach(extract_traceparent(PARENT))
    try:
        assert current_trace_id() == "4bf92f3577b34da6a3ce929d0e0e4736"
        assert current_span_id() == "00f067aa0ba902b7"
    finally:
        context.detach(token)


def test_with_span_accepts_a_plain_function(pipeline_spans: InMemorySpanExporter) -> None:
    def body(span: trace.Span) -> str | None:
        span.set_attribute("sync", True)
        return current_trace_id()

    trace_id = asyncio.run(with_span("sync", body))
    (span,) = pipeline_spans.get_finished_spans()
    assert (span.name, span.status.status_code) == ("sync", StatusCode.OK)
    assert span.attributes == {"sync": True}
    assert trace_id == trace.format_trace_id(span.context.trace_id)

    def fails(span: trace.Span) -> None:
        raise ValueError("sync boom")

    with pytest.raises(ValueError, match="sync boom"):
        asyncio.run(with_span("sync-fails", fails))
    failed = pipeline_spans.get_finished_spans()[-1]
    assert (failed.status.status_code, failed.status.description) == (
        StatusCode.ERROR,
        "sync boom",
    )
    assert asyncio.run(with_span("before", lambda span: 7)) == 7


def test_with_span_before_init_keeps_the_traceparent() -> None:
    """Deliberate difference: iii-helpers drops ``traceparent`` before ``init_otel``; here the
    remote parent is current while ``fn`` runs, so ids and logs correlate with it."""

    def body(span: trace.Span) -> tuple[str | None, str | None]:
        assert span is trace.INVALID_SPAN
        return current_trace_id(), current_span_id()

    assert asyncio.run(with_span("s", body, traceparent=PARENT)) == (
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
    )
    assert current_trace_id() is None  # detached afterwards
    assert asyncio.run(with_span("s", body)) == (None, None)
    assert asyncio.run(with_span("s", body, traceparent="garbage")) == (None, None)


def test_baggage_processor_without_allowlist_copies_every_entry() -> None:
    entries = {"iii.session.id": "S", "iii.tag.team": "core", "tenant.id": "T"}
    assert _span_attributes(BaggageSpanProcessor(allowlist=None), entries) == entries
    assert _span_attributes(BaggageSpanProcessor(None), entries, sampled=False) is None


@SETTINGS
@given(st.dictionaries(baggage_keys, st.text(max_size=5), max_size=5))
def test_baggage_processor_without_allowlist_matches_current_sdks(entries: dict[str, str]) -> None:
    """iii-helpers 0.21.3 and later copy every entry (as ``allowlist=None`` does)."""
    copied = _span_attributes(BaggageSpanProcessor(None), entries)
    assert copied == (entries or {})


def test_init_otel_copies_every_baggage_entry(pipeline_spans: InMemorySpanExporter) -> None:
    ctx = baggage.set_baggage("iii.tag.team", "core", baggage.set_baggage("iii.session.id", "S"))
    token = context.attach(ctx)
    try:
        asyncio.run(with_span("tagged", lambda span: None))
    finally:
        context.detach(token)
    (span,) = pipeline_spans.get_finished_spans()
    assert span.attributes == {"iii.tag.team": "core", "iii.session.id": "S"}
