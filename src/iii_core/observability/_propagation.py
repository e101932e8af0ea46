"""W3C ``traceparent`` and ``baggage`` headers to and from OpenTelemetry contexts.

Rules (iii-helpers 0.20.0): all parsing and formatting is done by the global OpenTelemetry
propagator (``OTEL_PROPAGATORS``, by default ``tracecontext,baggage``); nothing is parsed here.
``inject_*`` read the current context and return the header, or None when the context has no
valid span (no baggage). ``extract_*`` return a new ``Context`` built from an empty one (the
current context is not merged in); invalid input gives an empty ``Context``, never an exception.
"""

from __future__ import annotations

from opentelemetry import propagate
from opentelemetry.context import Context

__all__ = ["extract_baggage", "extract_traceparent", "inject_baggage", "inject_traceparent"]


def _inject(header: str) -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get(header)


def inject_traceparent() -> str | None:
    """The ``traceparent`` header for the current span, or None."""
    return _inject("traceparent")


def inject_baggage() -> str | None:
    """The ``baggage`` header for the current baggage, or None."""
    return _inject("baggage")


def extract_traceparent(traceparent: str) -> Context:
    """A context whose current span is the (remote, non-recording) parent in ``traceparent``."""
    return propagate.extract({"traceparent": traceparent})


def extract_baggage(baggage: str) -> Context:
    """A context holding the entries of the ``baggage`` header."""
    return propagate.extract({"baggage": baggage})
