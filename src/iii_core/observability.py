"""The documented config types of the iii helper module ``observability``.

Rules: every class here is generated from ``schema/observability.json``; this module only
re-exports them (the OpenTelemetry-backed helpers are an optional binding, in a later issue).
Defaults are those of iii-helpers 0.20.0; a documented ``None`` default is represented as
absent (``UNSET``). Nothing here performs I/O.
"""

from iii_core._generated.observability import (
    OtelConfig,
    ReconnectionConfig,
)

__all__ = [
    "OtelConfig",
    "ReconnectionConfig",
]
