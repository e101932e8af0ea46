"""One ``init_otel`` pipeline: its providers, tracer, logger and engine connection.

Rules:
- Built from resolved settings (``_settings``): tracer, meter and logger providers with one
  resource (``service.*``, ``telemetry.sdk.name=iii-python-sdk``,
  ``telemetry.sdk.language=python``). Spans go through ``BaggageSpanProcessor`` (first, copying
  every baggage entry as iii-helpers 0.21.3 and later do) and a batch processor per exporter;
  logs through a batch processor per exporter; metrics through a periodic reader per exporter.
  Exporters: the engine's ``/otel`` WebSocket (with ``engine_ws_headers`` on its handshake)
  and/or OTLP/HTTP (OpenTelemetry's exporters, configured by the standard
  ``OTEL_EXPORTER_OTLP_*`` variables). A signal without exporter gets no provider (``Logger``
  then writes to stdlib ``logging``).
- A missing or unreachable endpoint or engine never raises: exporters retry or drop.
- ``flush`` force-flushes every provider, then waits (at most ``ENGINE_FLUSH_TIMEOUT_S``) for
  queued frames to reach a reachable engine. ``shutdown`` stops the providers (flushing them)
  and the engine connection (delivering what is queued, at most ``ENGINE_CLOSE_TIMEOUT_S``).
- A pipeline keeps no process state: the runtime (``_runtime``) owns which one runs, the urllib
  patch (``wrap_urlopen``) and when the providers are offered as OpenTelemetry's globals.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from opentelemetry import _logs, metrics, trace
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from iii_core.observability._baggage_processor import BaggageSpanProcessor
from iii_core.observability._engine_connection import EngineConnection
from iii_core.observability._engine_exporters import (
    EngineLogExporter,
    EngineMetricExporter,
    EngineSpanExporter,
)
from iii_core.observability._log_record import emit_record
from iii_core.observability._settings import OtelSettings
from iii_core.observability._urllib import traced_open

__all__ = ["ENGINE_CLOSE_TIMEOUT_S", "ENGINE_FLUSH_TIMEOUT_S", "Pipeline", "build_pipeline"]

TRACER_NAME = "iii-python-sdk"
LOGGER_NAME = "iii.logger"
ENGINE_FLUSH_TIMEOUT_S = 5.0
ENGINE_CLOSE_TIMEOUT_S = 5.0

_log = logging.getLogger("iii.telemetry")


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
    wrap_urlopen: Callable[[Any], Any] | None  # the urllib instrumentation, when enabled

    def providers(self) -> list[Any]:
        """The tracer, meter and logger providers this pipeline has."""
        providers = (self.tracer_provider, self.meter_provider, self.logger_provider)
        return [provider for provider in providers if provider is not None]

    def emit_log(
        self,
        level: str,
        message: str,
        data: Any,
        *,
        service_name: str,
        trace_id: str | None,
        span_id: str | None,
    ) -> None:
        """One ``Logger`` call as a log record (``_log_record``); needs ``logger``."""
        if self.logger is None:
            raise RuntimeError("this pipeline exports no logs")
        emit_record(
            self.logger,
            level,
            message,
            data,
            service_name=service_name,
            trace_id=trace_id,
            span_id=span_id,
        )

    def offer_as_globals(self) -> None:
        """Offer the providers as OpenTelemetry's globals (which keep the first one set)."""
        trace.set_tracer_provider(self.tracer_provider)
        if self.meter_provider is not None:
            metrics.set_meter_provider(self.meter_provider)
        if self.logger_provider is not None:
            _logs.set_logger_provider(self.logger_provider)

    def shutdown(self) -> None:
        """Stop every provider (flushing it), then the engine connection."""
        for provider in self.providers():
            try:
                provider.shutdown()
            except Exception:  # one failing provider must not keep the others running
                _log.debug("OpenTelemetry provider shutdown failed", exc_info=True)
        if self.engine is not None:
            self.engine.close(ENGINE_CLOSE_TIMEOUT_S)


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


def build_pipeline(settings: OtelSettings) -> Pipeline:
    """Start the providers and engine connection that ``settings`` describe."""
    resource = _resource(settings)
    engine = (
        EngineConnection(settings.engine_url, headers=settings.engine_ws_headers)
        if settings.engine_url
        else None
    )

    tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    tracer_provider.add_span_processor(BaggageSpanProcessor(allowlist=None))
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

    tracer = tracer_provider.get_tracer(TRACER_NAME)
    return Pipeline(
        settings=settings,
        tracer_provider=tracer_provider,
        tracer=tracer,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
        logger=logger_provider.get_logger(LOGGER_NAME) if logger_provider else None,
        engine=engine,
        wrap_urlopen=partial(traced_open, tracer=tracer)
        if settings.fetch_instrumentation_enabled
        else None,
    )
