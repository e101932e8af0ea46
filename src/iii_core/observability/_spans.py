"""Reading and annotating the current span, without touching ``opentelemetry`` at the call site.

Rules (iii-helpers 0.20.0): everything reads the span of the current OpenTelemetry context, so it
works with any active span, a remote parent attached from ``extract_traceparent`` included, and
needs no ``init_otel``. Attributes and events are only written to a recording span; the error
status is set on whatever span is current (the invalid span ignores it). Ids are lowercase hex,
32 characters for a trace and 16 for a span, or None when the span context is not valid.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from opentelemetry.util.types import AttributeValue

__all__ = [
    "current_span_id",
    "current_span_is_recording",
    "current_trace_id",
    "record_span_event",
    "set_current_span_attribute",
    "set_current_span_error",
]


def current_trace_id() -> str | None:
    """The current trace id as 32 lowercase hex characters, or None."""
    span_context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(span_context.trace_id) if span_context.is_valid else None


def current_span_id() -> str | None:
    """The current span id as 16 lowercase hex characters, or None."""
    span_context = trace.get_current_span().get_span_context()
    return trace.format_span_id(span_context.span_id) if span_context.is_valid else None


def current_span_is_recording() -> bool:
    """False when there is no active span or the sampler dropped it."""
    return trace.get_current_span().is_recording()


def set_current_span_attribute(key: str, value: AttributeValue) -> None:
    """Set an attribute on the current span; a no-op unless it is recording."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute(key, value)


def set_current_span_error(message: str) -> None:
    """Mark the current span as failed with ``message``; a no-op outside a span."""
    trace.get_current_span().set_status(Status(StatusCode.ERROR, message))


def record_span_event(name: str, attrs: dict[str, Any] | None = None) -> None:
    """Add an event to the current span; a no-op unless it is recording."""
    span = trace.get_current_span()
    if span.is_recording():
        span.add_event(name, attributes=attrs or {})
