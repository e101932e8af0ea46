"""OpenTelemetry exporters that queue spans, logs and metrics as frames for the engine.

Rules: each export encodes its batch as one ``/otel`` frame (``_otlp_json``) and hands it to the
``EngineConnection``, which never blocks; an export fails only when encoding fails (logged). The
metric exporter keeps OpenTelemetry's default (cumulative) temporality, as the published
exporter does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from iii_core.observability._engine_connection import EngineConnection
from iii_core.observability._otlp_json import logs_frame, metrics_frame, spans_frame

__all__ = ["EngineLogExporter", "EngineMetricExporter", "EngineSpanExporter"]

_log = logging.getLogger("iii.telemetry_exporters")


class EngineSpanExporter(SpanExporter):
    def __init__(self, connection: EngineConnection) -> None:
        self._connection = connection

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            frame = spans_frame(spans)
        except Exception:
            _log.exception("EngineSpanExporter.export failed")
            return SpanExportResult.FAILURE
        self._connection.send(frame)
        return SpanExportResult.SUCCESS


class EngineLogExporter(LogRecordExporter):
    def __init__(self, connection: EngineConnection) -> None:
        self._connection = connection

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        try:
            frame = logs_frame(batch)
        except Exception:
            _log.exception("EngineLogExporter.export failed")
            return LogRecordExportResult.FAILURE
        self._connection.send(frame)
        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        """The connection is closed by ``shutdown_otel``, after every provider."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class EngineMetricExporter(MetricExporter):
    def __init__(self, connection: EngineConnection) -> None:
        super().__init__()
        self._connection = connection

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        try:
            frame = metrics_frame(metrics_data)
        except Exception:
            _log.exception("EngineMetricExporter.export failed")
            return MetricExportResult.FAILURE
        self._connection.send(frame)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """The connection is closed by ``shutdown_otel``, after every provider."""
