"""One ``Logger`` call as an OpenTelemetry log record (the OpenTelemetry half of ``Logger``).

Rules (iii-helpers 0.20.0): severity pairs info (INFO, 9), warn (WARN, 13), error (ERROR, 17),
debug (DEBUG, 5); body is the message; attributes ``service.name`` and, when data is not None,
``log.data``; the trace id is the Logger's own (hex) if it has one, else the current span's,
else 0, and likewise the span id; trace flags come from the current span; both timestamps are
``time.time_ns()``. An invalid hex id raises ``ValueError`` (``Logger`` then falls back).
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import _logs, trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.context import Context

__all__ = ["SEVERITIES", "emit_record"]

SEVERITIES: dict[str, tuple[str, SeverityNumber]] = {
    "info": ("INFO", SeverityNumber.INFO),
    "warn": ("WARN", SeverityNumber.WARN),
    "error": ("ERROR", SeverityNumber.ERROR),
    "debug": ("DEBUG", SeverityNumber.DEBUG),
}


def emit_record(
    logger: _logs.Logger,
    level: str,
    message: str,
    data: Any,
    *,
    service_name: str,
    trace_id: str | None,
    span_id: str | None,
) -> None:
    """Emit ``message`` at ``level`` on ``logger``, correlated as the rules above say."""
    current = trace.get_current_span().get_span_context()
    record_trace_id = (
        int(trace_id, 16) if trace_id is not None else current.trace_id if current.is_valid else 0
    )
    record_span_id = (
        int(span_id, 16) if span_id is not None else current.span_id if current.is_valid else 0
    )
    flags = current.trace_flags if current.is_valid else trace.TraceFlags(0)
    correlation = trace.NonRecordingSpan(
        trace.SpanContext(record_trace_id, record_span_id, is_remote=False, trace_flags=flags)
    )
    attributes: dict[str, Any] = {"service.name": service_name}
    if data is not None:
        attributes["log.data"] = data
    severity_text, severity_number = SEVERITIES[level]
    now = time.time_ns()
    logger.emit(
        timestamp=now,
        observed_timestamp=now,
        context=trace.set_span_in_context(correlation, Context()),
        severity_text=severity_text,
        severity_number=severity_number,
        body=message,
        attributes=attributes,
    )
