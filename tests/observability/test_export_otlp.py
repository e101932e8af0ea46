"""Spans, logs and metrics reach a real OTLP/HTTP receiver on loopback, with the trace ids of
the spans they were recorded in; across init/shutdown cycles; and a dead endpoint breaks
nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry import metrics, trace

from iii_core.observability import (
    Logger,
    OtelConfig,
    current_span_id,
    current_trace_id,
    flush_otel,
    init_otel,
    shutdown_otel,
    with_span,
)
from iii_core.observability._state import running
from tests.loopback import free_port
from tests.observability.receivers import OtlpReceiver, wait_until

# Instruments from OpenTelemetry's global API, created once: they must follow every pipeline.
METER = metrics.get_meter("tests.observability")
COUNTER = METER.create_counter("iii.test.calls")


def _resource(resource: Any) -> dict[str, str]:
    return {kv.key: kv.value.string_value for kv in resource.attributes}


async def _traced_work(name: str) -> dict[str, str | None]:
    async def body(span: trace.Span) -> dict[str, str | None]:
        Logger(service_name="svc").info(f"{name} log", {"n": 1})
        COUNTER.add(1, {"work": name})
        return {"trace": current_trace_id(), "span": current_span_id()}

    ids = await with_span(name, body)
    await flush_otel()
    return ids


def _exemplar_trace_ids(receiver: OtlpReceiver, metric_name: str) -> set[str]:
    return {
        exemplar.trace_id.hex()
        for _, metric in receiver.metrics()
        if metric.name == metric_name
        for point in metric.sum.data_points
        for exemplar in point.exemplars
    }


def test_spans_logs_and_metrics_arrive_with_their_trace_ids(otlp: OtlpReceiver) -> None:
    init_otel(OtelConfig(service_name="svc-otlp", service_namespace="tests"))
    pipeline = running()
    assert pipeline is not None and pipeline.engine is None  # OTLP only: no engine named
    ids = asyncio.run(_traced_work("work"))

    assert wait_until(lambda: any(s.name == "work" for _, s in otlp.spans()))
    resource, span = next((r, s) for r, s in otlp.spans() if s.name == "work")
    assert (span.trace_id.hex(), span.span_id.hex()) == (ids["trace"], ids["span"])
    assert span.kind == span.SPAN_KIND_INTERNAL
    assert span.status.code == span.status.STATUS_CODE_OK
    attributes = _resource(resource)
    assert attributes["service.name"] == "svc-otlp"
    assert attributes["service.namespace"] == "tests"
    assert attributes["telemetry.sdk.name"] == "iii-python-sdk"
    assert attributes["telemetry.sdk.language"] == "python"

    assert wait_until(lambda: any(r.body.string_value == "work log" for _, r in otlp.log_records()))
    _, record = next((r, x) for r, x in otlp.log_records() if x.body.string_value == "work log")
    assert (record.trace_id.hex(), record.span_id.hex()) == (ids["trace"], ids["span"])
    assert record.severity_text == "INFO"

    assert wait_until(lambda: ids["trace"] in _exemplar_trace_ids(otlp, "iii.test.calls"))


def test_every_pipeline_exports_to_its_own_receiver(
    otlp: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three init/shutdown cycles in one process, each to a fresh receiver; OpenTelemetry's
    global tracer and the module-level counter follow along."""
    global_tracer = trace.get_tracer("tests.global")
    receivers = [otlp, OtlpReceiver(), OtlpReceiver()]
    try:
        for cycle, receiver in enumerate(receivers):
            monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
            init_otel(OtelConfig(service_name=f"svc-{cycle}"))
            with global_tracer.start_as_current_span(f"global-{cycle}") as span:
                trace_id = trace.format_trace_id(span.get_span_context().trace_id)
                COUNTER.add(1)
            ids = asyncio.run(_traced_work(f"cycle-{cycle}"))
            shutdown_otel()  # flushes
            names = {s.name for _, s in receiver.spans()}
            assert names == {f"global-{cycle}", f"cycle-{cycle}"}
            assert {_resource(r)["service.name"] for r, _ in receiver.spans()} == {f"svc-{cycle}"}
            assert {trace_id, ids["trace"]} <= _exemplar_trace_ids(receiver, "iii.test.calls")
        with global_tracer.start_as_current_span("after") as span:
            assert not span.is_recording()
    finally:
        for receiver in receivers[1:]:
            receiver.close()


def test_a_dead_endpoint_breaks_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    init_otel(OtelConfig())
    ids = asyncio.run(_traced_work("lost"))
    assert ids["trace"] is not None
    shutdown_otel()
    assert running() is None
