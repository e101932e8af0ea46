"""The urllib instrumentation that ``init_otel`` turns on (``fetch_instrumentation_enabled``)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from iii_core.observability import OtelConfig, init_otel, shutdown_otel
from iii_core.observability._runtime import RUNTIME
from tests.observability.receivers import HttpServer


@pytest.fixture
def traced(no_engine_url: str) -> InMemorySpanExporter:
    init_otel(OtelConfig(engine_ws_url=no_engine_url))
    pipeline = RUNTIME.running()
    assert pipeline is not None
    exporter = InMemorySpanExporter()
    pipeline.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def test_urlopen_is_traced(http_server: HttpServer, traced: InMemorySpanExporter) -> None:
    with urllib.request.urlopen(f"{http_server.url}/path?a=1", timeout=10) as response:
        assert response.read() == b"ok"
    (span,) = traced.get_finished_spans()
    assert (span.name, span.kind, span.status.status_code) == (
        "GET /path",
        SpanKind.CLIENT,
        StatusCode.OK,
    )
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["url.query"] == "a=1"
    assert http_server.headers[0]["traceparent"].split("-")[1] == trace.format_trace_id(
        span.context.trace_id
    )


def test_http_error_marks_the_span(http_server: HttpServer, traced: InMemorySpanExporter) -> None:
    request = urllib.request.Request(f"{http_server.url}/status/503", data=b"xy")
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=10)
    (span,) = traced.get_finished_spans()
    assert span.name == "POST /status/503"
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert (span.attributes["error.type"], span.attributes["http.request.body.size"]) == (
        "HTTPError",
        2,
    )
    assert [e.name for e in span.events] == ["exception"]


def test_enabled_by_default_and_restored_on_shutdown(no_engine_url: str) -> None:
    original = urllib.request.OpenerDirector.open
    init_otel(OtelConfig(engine_ws_url=no_engine_url))
    assert RUNTIME.urllib_patched
    assert urllib.request.OpenerDirector.open is not original
    shutdown_otel()
    assert not RUNTIME.urllib_patched
    assert urllib.request.OpenerDirector.open is original


def test_not_enabled_when_configured_off(no_engine_url: str) -> None:
    init_otel(OtelConfig(engine_ws_url=no_engine_url, fetch_instrumentation_enabled=False))
    assert RUNTIME.running() is not None
    assert not RUNTIME.urllib_patched
