"""``BaggageSpanProcessor``: copies allow-listed baggage entries onto every new span.

Rules (iii-helpers 0.20.0): on start of a recording span, each allow-listed key found in the
baggage of the parent context becomes a string attribute of the same name; sampled-out spans
are skipped. The allowlist defaults to ``DEFAULT_ALLOWLIST``. ``init_otel`` registers this
processor first, so the attributes exist before any exporter sees the span.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import baggage
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from iii_core.observability._allowlist import DEFAULT_ALLOWLIST

__all__ = ["BaggageSpanProcessor"]


class BaggageSpanProcessor(SpanProcessor):
    """Copies the allow-listed baggage entries of the parent context onto each span."""

    def __init__(self, allowlist: Sequence[str] = DEFAULT_ALLOWLIST) -> None:
        self._allowlist: tuple[str, ...] = tuple(allowlist)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if not span.is_recording():
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
