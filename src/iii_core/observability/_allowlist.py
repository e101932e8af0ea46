"""The baggage keys that ``BaggageSpanProcessor`` copies onto spans by default.

Rules: the value and its order are those of iii-helpers 0.20.0, pinned in every iii SDK so that
worker chains agree; it is a tuple. Nothing here needs OpenTelemetry.
"""

from __future__ import annotations

__all__ = ["DEFAULT_ALLOWLIST"]

DEFAULT_ALLOWLIST: tuple[str, ...] = (
    "iii.session.id",
    "iii.message.id",
    "iii.function.id",
)
