"""The reconnection backoff that ``ReconnectionConfig`` describes, as pure functions.

Rules: the published ``ReconnectionConfig`` is a bare dataclass; the iii SDK applies its formula
when a WebSocket drops, and the engine ``/otel`` connection of ``init_otel`` uses the same
formula with the default config. The delay before retry number ``attempt`` (0 for the first
retry) is ``min(initial_delay_ms * backoff_multiplier ** attempt, max_delay_ms)`` plus a jitter
of ``capped * jitter_factor * (2 * random - 1)``, clamped at 0. ``random`` is an argument in
``[0, 1)``, so the functions stay pure. ``max_retries == -1`` retries forever.
"""

from __future__ import annotations

from msgspec import UNSET

from iii_core._generated.observability import ReconnectionConfig

__all__ = ["reconnection_delay_ms", "reconnection_should_retry"]

_DEFAULTS = ReconnectionConfig()


def _field(config: ReconnectionConfig, name: str) -> float:
    value = getattr(config, name)
    return float(getattr(_DEFAULTS, name) if value is UNSET else value)


def reconnection_delay_ms(config: ReconnectionConfig, attempt: int, random: float) -> float:
    """Milliseconds to wait before retry ``attempt``, given a uniform ``random`` in [0, 1)."""
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    if not 0.0 <= random < 1.0:
        raise ValueError(f"random must be in [0, 1), got {random}")
    initial = _field(config, "initial_delay_ms")
    multiplier = _field(config, "backoff_multiplier")
    cap = _field(config, "max_delay_ms")
    try:
        grown = initial * multiplier**attempt
    except OverflowError:
        grown = cap
    capped = min(grown, cap)
    jitter = capped * _field(config, "jitter_factor") * (2.0 * random - 1.0)
    return max(capped + jitter, 0.0)


def reconnection_should_retry(config: ReconnectionConfig, attempt: int) -> bool:
    """Whether retry ``attempt`` (0 for the first) may happen under ``config.max_retries``."""
    max_retries = int(_field(config, "max_retries"))
    return max_retries == -1 or attempt < max_retries
