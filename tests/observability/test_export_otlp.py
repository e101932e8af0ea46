"""Spans, logs and metrics reach a real OTLP/HTTP receiver on loopback, with the trace ids of
the spans they were recorded in; across init/shutdown cycles; and a dead endpoint breaks
nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry import trace

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
from iii_core.observability._runtime import RUNTIME
from tests.loopback import free_port
from tests.observability.receivers import OtlpReceiver, wait_until


def _resource(resource: Any) -> dict[str, str]:
    return {kv.key: kv.value.string_value for kv in resource.attributes}


async def _traced_work(name: str) -> dict[str, str | None]:
    pipeline = RUNTIME.running()
    assert pipeline is not None and pipeline.meter_provider is not None
    counter = pipeline.meter_provider.get_meter("tests.observability").create_counter(
        "iii.test.calls"
    )

    async def body(span: trace.Span) -> dict[str, str | None]:
        Logger(service_name="svc").info(f"{name} log", {"n": 1})
        counter.add(1, {"work": name})
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
    pipeline = RUNTIME.running()
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
    """Three init/shutdown cycles in one process, each to a fresh receiver."""
    receivers = [otlp, OtlpReceiver(), OtlpReceiver()]
    try:
        for cycle, receiver in enumerate(receivers):
            monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
            init_otel(OtelConfig(service_name=f"svc-{cycle}"))
            ids = asyncio.run(_traced_work(f"cycle-{cycle}"))
            shutdown_otel()  # flushes
            names = {s.name for _, s in receiver.spans()}
            assert names == {f"cycle-{cycle}"}
            assert {_resource(r)["service.name"] for r, _ in receiver.spans()} == {f"svc-{cycle}"}
            assert ids["trace"] in _exemplar_trace_ids(receiver, "iii.test.calls")
            assert f"cycle-{cycle} log" in {r.body.string_value for _, r in receiver.log_records()}
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
    assert RUNTIME.running() is None
