"""``execute_traced_request`` against a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from iii_helpers.observability import execute_traced_request as published_execute
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from iii_core.observability import execute_traced_request
from iii_core.observability._runtime import RUNTIME
from tests.loopback import free_port
from tests.observability.receivers import HttpServer


async def _send(execute: Any, request: httpx.Request) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await execute(client, request)  # type: ignore[no-any-return]


def test_get_is_traced_and_propagated(
    http_server: HttpServer, pipeline_spans: InMemorySpanExporter
) -> None:
    request = httpx.Request("get", f"{http_server.url}/items?x=1", headers={"Accept": "text/plain"})
    response = asyncio.run(_send(execute_traced_request, request))
    assert (response.status_code, response.text) == (200, "ok")
    (span,) = pipeline_spans.get_finished_spans()
    assert (span.name, span.kind) == ("GET /items", SpanKind.CLIENT)
    host, port = http_server.url.removeprefix("http://").split(":")
    assert dict(span.attributes or {}) == {
        "http.request.method": "GET",
        "url.full": f"{http_server.url}/items?x=1",
        "server.address": host,
        "url.scheme": "http",
        "network.protocol.name": "http",
        "url.path": "/items",
        "server.port": int(port),
        "url.query": "x=1",
        "http.request.header.accept": "text/plain",
        "http.response.status_code": 200,
        "http.response.body.size": 2,
        "http.response.header.content-type": "text/plain",
    }
    assert span.status.status_code is StatusCode.OK
    sent = http_server.headers[0]["traceparent"]
    assert sent.split("-")[1:3] == [
        trace.format_trace_id(span.context.trace_id),
        trace.format_span_id(span.context.span_id),
    ]


def test_error_status_is_returned_not_raised(
    http_server: HttpServer, pipeline_spans: InMemorySpanExporter
) -> None:
    request = httpx.Request("POST", f"{http_server.url}/status/500", content=b"abc")
    response = asyncio.run(_send(execute_traced_request, request))
    assert response.status_code == 500
    (span,) = pipeline_spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "500"
    assert span.attributes is not None
    assert (span.attributes["error.type"], span.attributes["http.request.body.size"]) == ("500", 3)


def test_transport_error_is_recorded_once_and_raised(pipeline_spans: InMemorySpanExporter) -> None:
    request = httpx.Request("GET", f"http://127.0.0.1:{free_port()}/")
    with pytest.raises(httpx.ConnectError):
        asyncio.run(_send(execute_traced_request, request))
    (span,) = pipeline_spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None and span.attributes["error.type"] == "ConnectError"
    assert [e.name for e in span.events] == ["exception"]


def test_ignored_urls_are_sent_untraced(
    http_server: HttpServer, pipeline_spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_FETCH_IGNORE_URLS", " /health , /status/204")
    asyncio.run(
        _send(execute_traced_request, httpx.Request("GET", f"{http_server.url}/status/204"))
    )
    assert pipeline_spans.get_finished_spans() == ()
    assert "traceparent" not in http_server.headers[0]


@pytest.fixture
def both_spans(
    pipeline_spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> InMemorySpanExporter:
    """The published function takes its tracer from OpenTelemetry's global provider, which
    ``init_otel`` sets once per process: it is pointed at the running pipeline here, so both
    functions' spans land in the same exporter."""
    pipeline = RUNTIME.running()
    assert pipeline is not None
    monkeypatch.setattr(trace, "get_tracer", pipeline.tracer_provider.get_tracer)
    return pipeline_spans


def test_attributes_match_the_published_function(
    http_server: HttpServer, both_spans: InMemorySpanExporter
) -> None:
    pipeline_spans = both_spans
    for execute in (execute_traced_request, published_execute):
        request = httpx.Request("POST", f"{http_server.url}/status/404?q=a%20b", content=b"{}")
        request.headers["Content-Type"] = "application/json"
        asyncio.run(_send(execute, request))
    ours, published = pipeline_spans.get_finished_spans()
    assert ours.name == published.name
    assert ours.attributes == published.attributes
    assert (ours.status.status_code, ours.status.description) == (
        published.status.status_code,
        published.status.description,
    )


async def _chunks() -> AsyncIterator[bytes]:
    yield b"part-1"
    yield b"part-2"


def test_streaming_body_is_sent_without_being_measured(
    http_server: HttpServer, both_spans: InMemorySpanExporter
) -> None:
    """Deliberate difference: the published function reads ``request.content``, which raises
    ``RequestNotRead`` for a streaming body before anything is sent."""
    pipeline_spans = both_spans
    with pytest.raises(httpx.RequestNotRead):
        asyncio.run(
            _send(published_execute, httpx.Request("POST", http_server.url, content=_chunks()))
        )
    response = asyncio.run(
        _send(execute_traced_request, httpx.Request("POST", http_server.url, content=_chunks()))
    )
    assert response.status_code == 200
    published, ours = pipeline_spans.get_finished_spans()  # the published span ended raising
    assert published.status.status_code is StatusCode.ERROR
    assert ours.status.status_code is StatusCode.OK
    assert ours.attributes is not None and "http.request.body.size" not in ours.attributes


def test_without_init_the_request_is_still_sent(http_server: HttpServer) -> None:
    response = asyncio.run(_send(execute_traced_request, httpx.Request("GET", http_server.url)))
    assert response.status_code == 200
    # Whether a traceparent is sent depends on OpenTelemetry's global provider, which the first
    # init_otel of this test process set once (and which stays, shut down, after it).
