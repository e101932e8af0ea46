"""``init_otel``, ``flush_otel`` and ``shutdown_otel``: the process's OpenTelemetry pipeline.

Rules:
- ``init_otel`` resolves ``OtelConfig`` and the environment (``_settings``), then builds its own
  tracer, meter and logger providers with one resource (``service.*``, ``telemetry.sdk.name=
  iii-python-sdk``, ``telemetry.sdk.language=python``). Spans go through
  ``BaggageSpanProcessor`` (first) and a batch processor per exporter; logs through a batch
  processor per exporter; metrics through a periodic reader per exporter. Exporters: the
  engine's ``/otel`` WebSocket and/or OTLP/HTTP (OpenTelemetry's exporters, configured by the
  standard ``OTEL_EXPORTER_OTLP_*`` variables). A signal without exporter gets no provider
  (``Logger`` then writes to stdlib ``logging``).
- The iii helpers use these providers directly and never go through OpenTelemetry's globals,
  which can be set only once per process. The globals are pointed, once, at switching providers
  that follow the running pipeline (``_global_providers``), so ``init_otel`` -> ``shutdown_otel``
  -> ``init_otel`` works any number of times in one process, with a fresh pipeline each time.
- ``init_otel`` does nothing while a pipeline runs (even with another config), nor when
  OpenTelemetry is disabled (a later call looks again). A missing or unreachable endpoint or
  engine never raises: exporters retry or drop.
- ``flush_otel`` force-flushes every provider, then waits (at most ``ENGINE_FLUSH_TIMEOUT_S``)
  for queued frames to reach a reachable engine. ``shutdown_otel`` stops the urllib
  instrumentation, the providers (flushing them) and the engine connection (delivering what is
  queued, at most ``ENGINE_CLOSE_TIMEOUT_S``); it is safe to call at any time, and runs at exit.
- ``loop`` is accepted for compatibility and not needed: the engine connection runs in its own
  thread.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry import _logs, trace
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from iii_core._generated.observability import OtelConfig
from iii_core.observability import _global_providers, _urllib
from iii_core.observability._baggage_processor import BaggageSpanProcessor
from iii_core.observability._engine_connection import EngineConnection
from iii_core.observability._engine_exporters import (
    EngineLogExporter,
    EngineMetricExporter,
    EngineSpanExporter,
)
from iii_core.observability._settings import OtelSettings, resolve_settings
from iii_core.observability._state import replace_running, running

__all__ = ["Pipeline", "flush_otel", "init_otel", "shutdown_otel"]

TRACER_NAME = "iii-python-sdk"
LOGGER_NAME = "iii.logger"
ENGINE_FLUSH_TIMEOUT_S = 5.0
ENGINE_CLOSE_TIMEOUT_S = 5.0

_log = logging.getLogger("iii.telemetry")
_lock = threading.Lock()
_EXIT_HOOK = threading.Event()  # set once shutdown_otel is registered to run at exit


@dataclass(frozen=True, eq=False)
class Pipeline:
    """The providers, tracer, logger and engine connection of one ``init_otel``."""

    settings: OtelSettings
    tracer_provider: TracerProvider
    tracer: trace.Tracer
    meter_provider: MeterProvider | None
    logger_provider: LoggerProvider | None
    logger: _logs.Logger | None
    engine: EngineConnection | None


def _resource(settings: OtelSettings) -> Resource:
    attributes: dict[str, str] = {
        "service.name": settings.service_name,
        "service.version": settings.service_version,
        "service.instance.id": settings.service_instance_id or str(uuid.uuid4()),
        "telemetry.sdk.name": "iii-python-sdk",
        "telemetry.sdk.language": "python",
    }
    if settings.service_namespace:
        attributes["service.namespace"] = settings.service_namespace
    return Resource.create(attributes)


def _exporters(
    engine: EngineConnection | None,
    otlp: bool,
    for_engine: Callable[[EngineConnection], Any],
    for_otlp: Callable[[], Any],
) -> list[Any]:
    exporters = [for_engine(engine)] if engine is not None else []
    if otlp:
        exporters.append(for_otlp())
    return exporters


def _otlp_span_exporter() -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def _otlp_log_exporter() -> LogRecordExporter:
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

    return OTLPLogExporter()


def _otlp_metric_exporter() -> MetricExporter:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    return OTLPMetricExporter()


def _start(settings: OtelSettings) -> Pipeline:
    resource = _resource(settings)
    engine = EngineConnection(settings.engine_url) if settings.engine_url else None

    tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    tracer_provider.add_span_processor(BaggageSpanProcessor())
    for span_exporter in _exporters(
        engine, settings.otlp_traces, EngineSpanExporter, _otlp_span_exporter
    ):
        tracer_provider.add_span_processor(
            BatchSpanProcessor(
                span_exporter, schedule_delay_millis=settings.spans_flush_interval_ms
            )
        )

    meter_provider = None
    metric_exporters = _exporters(
        engine, settings.otlp_metrics, EngineMetricExporter, _otlp_metric_exporter
    )
    if settings.metrics_enabled and metric_exporters:
        meter_provider = MeterProvider(
            resource=resource,
            shutdown_on_exit=False,
            metric_readers=[
                PeriodicExportingMetricReader(
                    exporter, export_interval_millis=settings.metrics_export_interval_ms
                )
                for exporter in metric_exporters
            ],
        )

    logger_provider = None
    log_exporters = _exporters(engine, settings.otlp_logs, EngineLogExporter, _otlp_log_exporter)
    if settings.logs_enabled and log_exporters:
        logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
        for log_exporter in log_exporters:
            logger_provider.add_log_record_processor(
                BatchLogRecordProcessor(
                    log_exporter,
                    schedule_delay_millis=settings.logs_flush_interval_ms,
                    max_export_batch_size=settings.logs_batch_size,
                )
            )

    return Pipeline(
        settings=settings,
        tracer_provider=tracer_provider,
        tracer=tracer_provider.get_tracer(TRACER_NAME),
        meter_provider=meter_provider,
        logger_provider=logger_provider,
        logger=logger_provider.get_logger(LOGGER_NAME) if logger_provider else None,
        engine=engine,
    )


def init_otel(
    config: OtelConfig | None = None, loop: asyncio.AbstractEventLoop | None = None
) -> None:
    """Start exporting spans, logs and metrics; a no-op while a pipeline already runs."""
    with _lock:
        if running() is not None:
            return
        settings = resolve_settings(config or OtelConfig(), os.environ)
        if settings is None:
            return
        pipeline = _start(settings)
        replace_running(pipeline)
        _global_providers.install()
        _global_providers.switch(pipeline.meter_provider)
        if settings.fetch_instrumentation_enabled:
            _urllib.enable()
        if not _EXIT_HOOK.is_set():
            atexit.register(shutdown_otel)
            _EXIT_HOOK.set()


async def flush_otel() -> None:
    """Deliver what the providers and the engine connection hold, keeping them running."""
    pipeline = running()
    if pipeline is None:
        return
    providers: list[Any] = [
        provider
        for provider in (
            pipeline.tracer_provider,
            pipeline.meter_provider,
            pipeline.logger_provider,
        )
        if provider is not None
    ]
    await asyncio.gather(*(asyncio.to_thread(provider.force_flush) for provider in providers))
    if pipeline.engine is not None:
        await asyncio.to_thread(pipeline.engine.flush, ENGINE_FLUSH_TIMEOUT_S)


def shutdown_otel() -> None:
    """Stop the pipeline (flushing it) and the urllib instrumentation; safe at any time."""
    with _lock:
        _urllib.disable()
        pipeline = running()
        if pipeline is None:
            return
        replace_running(None)
        _global_providers.switch(None)
        for provider in (
            pipeline.tracer_provider,
            pipeline.meter_provider,
            pipeline.logger_provider,
        ):
            if provider is None:
                continue
            try:
                provider.shutdown()
            except Exception:  # one failing provider must not keep the others running
                _log.debug("OpenTelemetry provider shutdown failed", exc_info=True)
        if pipeline.engine is not None:
            pipeline.engine.close(ENGINE_CLOSE_TIMEOUT_S)
