"""``BaggageSpanProcessor``: copies baggage entries onto every new span.

Rules: on start of a recording span, the baggage entries of the parent context become string
attributes of the same name; sampled-out spans are skipped. ``allowlist`` picks the keys:
``DEFAULT_ALLOWLIST`` by default (the documented 0.20.0 API), or None for every entry, as
iii-helpers 0.21.3 and later always do (so ``iii.tag.*`` keys reach traces). ``init_otel``
registers it first with ``allowlist=None``, so the attributes exist before any exporter sees
the span. ``opentelemetry-processor-baggage`` does the same copy, but it is a beta package and
has no allow-list of its own order; these ten lines do not justify a dependency.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import baggage
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from iii_core.observability._allowlist import DEFAULT_ALLOWLIST

__all__ = ["BaggageSpanProcessor"]


class BaggageSpanProcessor(SpanProcessor):
    """Copies the parent context's baggage entries (the allow-listed ones) onto each span."""

    def __init__(self, allowlist: Sequence[str] | None = DEFAULT_ALLOWLIST) -> None:
        self._allowlist: tuple[str, ...] | None = None if allowlist is None else tuple(allowlist)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if not span.is_recording():
            return
        if self._allowlist is None:
            for key, value in baggage.get_all(parent_context).items():
                span.set_attribute(key, str(value))
            return
        for key in self._allowlist:
            value = baggage.get_baggage(key, parent_context)
            if value is not None:
                span.set_attribute(key, str(value))

    def on_end(self, span: ReadableSpan) -> None:
        """Nothing to do when a span ends."""

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
