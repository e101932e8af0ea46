"""``with_span``: run a function inside a new span of the ``init_otel`` pipeline.

Rules:
- ``fn`` takes the span; it may be async (its result is awaited) or a plain function (it runs
  inside the span and its result is returned as is). iii-helpers accepts only async functions.
- Before ``init_otel`` (or after ``shutdown_otel``) ``fn`` gets OpenTelemetry's no-op span,
  ``INVALID_SPAN``: every call on it is ignored and ``is_recording()`` is False. A
  ``traceparent`` is still honoured: its remote parent is the current span while ``fn`` runs,
  so ``current_trace_id()`` and ``Logger`` correlate with it (iii-helpers drops it there).
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

import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast, overload

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, Status, StatusCode

from iii_core.observability._runtime import RUNTIME

__all__ = ["with_span"]

T = TypeVar("T")


async def _call(fn: Callable[[trace.Span], Awaitable[T] | T], span: trace.Span) -> T:
    result = fn(span)
    if inspect.isawaitable(result):
        return cast(T, await result)
    return result


@overload
async def with_span(
    name: str,
    fn: Callable[[trace.Span], Awaitable[T]],
    *,
    kind: SpanKind | None = None,
    traceparent: str | None = None,
) -> T: ...


@overload
async def with_span(
    name: str,
    fn: Callable[[trace.Span], T],
    *,
    kind: SpanKind | None = None,
    traceparent: str | None = None,
) -> T: ...


async def with_span(
    name: str,
    fn: Callable[[trace.Span], Awaitable[T] | T],
    *,
    kind: SpanKind | None = None,
    traceparent: str | None = None,
) -> T:
    """Run ``fn(span)`` (awaiting it when it is async) in a new span called ``name``."""
    pipeline = RUNTIME.running()
    parent = (
        propagate.extract({"traceparent": traceparent})
        if traceparent
        else otel_context.get_current()
    )
    if pipeline is None:
        token = otel_context.attach(parent)
        try:
            return await _call(fn, trace.INVALID_SPAN)
        finally:
            otel_context.detach(token)
    with pipeline.tracer.start_as_current_span(
        name,
        context=parent,
        kind=kind if kind is not None else SpanKind.INTERNAL,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            result = await _call(fn, span)
        except Exception as exc:
            span.set_status(Status(StatusCode.ERROR, str(exc)))
            span.record_exception(exc)
            raise
        if not (isinstance(span, ReadableSpan) and span.status.status_code is StatusCode.ERROR):
            span.set_status(Status(StatusCode.OK))
        return result
