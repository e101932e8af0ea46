"""``with_span``: run an async function inside a new span of the ``init_otel`` pipeline.

Rules:
- Before ``init_otel`` (or after ``shutdown_otel``) ``fn`` is awaited with OpenTelemetry's no-op
  span, ``INVALID_SPAN``: every call on it is ignored and ``is_recording()`` is False.
- Otherwise the span is started on the pipeline's tracer (``iii-python-sdk``) with
  ``kind`` (default INTERNAL), as a child of the current context, or, when ``traceparent`` is
  given, of that remote parent alone: the span's parent context is the extracted one, so span
  processors see none of the current baggage (``BaggageSpanProcessor`` copies nothing from it).
- On success the status becomes OK, unless ``fn`` marked the span ERROR itself (for instance
  with ``set_current_span_error``), and ``fn``'s result is returned. When ``fn`` raises an
  ``Exception`` the span gets status ERROR with ``str(exc)`` and one exception event, and the
  exception propagates. ``BaseException``s (cancellation) propagate without marking the span.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, Status, StatusCode

from iii_core.observability._state import running

__all__ = ["with_span"]

T = TypeVar("T")


async def with_span(
    name: str,
    fn: Callable[[trace.Span], Awaitable[T]],
    *,
    kind: SpanKind | None = None,
    traceparent: str | None = None,
) -> T:
    """Await ``fn(span)`` inside a new span called ``name`` and return its result."""
    pipeline = running()
    if pipeline is None:
        return await fn(trace.INVALID_SPAN)
    parent = (
        propagate.extract({"traceparent": traceparent})
        if traceparent
        else otel_context.get_current()
    )
    with pipeline.tracer.start_as_current_span(
        name,
        context=parent,
        kind=kind if kind is not None else SpanKind.INTERNAL,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            result = await fn(span)
        except Exception as exc:
            span.set_status(Status(StatusCode.ERROR, str(exc)))
            span.record_exception(exc)
            raise
        if not (isinstance(span, ReadableSpan) and span.status.status_code is StatusCode.ERROR):
            span.set_status(Status(StatusCode.OK))
        return result
