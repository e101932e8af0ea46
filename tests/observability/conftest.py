"""Fixtures: an environment without OpenTelemetry settings, a pipeline stopped after every
test, real receivers on loopback, and in-memory exporters attached to the running pipeline."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from iii_core.observability import OtelConfig, init_otel, shutdown_otel
from iii_core.observability._runtime import RUNTIME
from tests.loopback import free_port
from tests.observability.receivers import EngineServer, HttpServer, OtlpReceiver

_SETTINGS_PREFIXES = ("OTEL_", "III_", "SERVICE_")


@pytest.fixture(autouse=True)
def clean_otel(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No inherited OpenTelemetry/iii settings, and no pipeline left running afterwards."""
    for name in list(os.environ):
        if name.startswith(_SETTINGS_PREFIXES):
            monkeypatch.delenv(name)
    shutdown_otel()
    yield
    shutdown_otel()


@pytest.fixture
def otlp(monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    """An OTLP/HTTP receiver, named by ``OTEL_EXPORTER_OTLP_ENDPOINT``."""
    receiver = OtlpReceiver()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    yield receiver
    shutdown_otel()
    receiver.close()


@pytest.fixture
def engine() -> Iterator[EngineServer]:
    server = EngineServer()
    yield server
    shutdown_otel()
    server.close()


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    server = HttpServer()
    yield server
    server.close()


@pytest.fixture
def no_engine_url() -> str:
    """The URL of a loopback port nobody listens on."""
    return f"ws://127.0.0.1:{free_port()}"


@pytest.fixture
def pipeline_spans(no_engine_url: str) -> InMemorySpanExporter:
    """A running pipeline (engine unreachable) whose spans are also kept in memory."""
    init_otel(OtelConfig(engine_ws_url=no_engine_url, fetch_instrumentation_enabled=False))
    pipeline = RUNTIME.running()
    assert pipeline is not None
    exporter = InMemorySpanExporter()
    pipeline.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture
def pipeline_logs(no_engine_url: str) -> InMemoryLogRecordExporter:
    """A running pipeline (engine unreachable) whose log records are also kept in memory."""
    init_otel(OtelConfig(engine_ws_url=no_engine_url, fetch_instrumentation_enabled=False))
    pipeline = RUNTIME.running()
    assert pipeline is not None and pipeline.logger_provider is not None
    exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    pipeline.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    return exporter
