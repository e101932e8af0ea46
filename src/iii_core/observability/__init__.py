"""The iii helper module ``observability``: payload redaction, trace propagation, spans, logs.

Rules:
- Names, signatures and behaviour are those of ``iii_helpers.observability`` 0.20.0, with
  what later versions add (``OtelConfig.engine_ws_headers``, ``BaggageSpanProcessor`` copying
  every entry with ``allowlist=None``); the deliberate differences are listed in
  ``docs/observability.md``. What ``init_otel`` does to the process is owned by one object,
  ``_runtime.RUNTIME``.
- ``OtelConfig`` and ``ReconnectionConfig`` are the generated wire types
  (``schema/observability.json``); the reconnection formula is ``reconnection_delay_ms`` /
  ``reconnection_should_retry``.
- Pure, importable without OpenTelemetry: ``redact``, ``redact_and_truncate``,
  ``resolve_max_bytes_from_env``, ``REDACTED_PLACEHOLDER``, ``DEFAULT_ALLOWLIST``, the config
  types and their helpers, and ``Logger`` (stdlib ``logging`` until ``init_otel`` runs).
- Everything else needs the ``otel`` extra. Those names are imported on first use; without the
  extra, using one raises ``ImportError`` naming ``pip install 'iii-core[otel]'``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from iii_core._generated.observability import OtelConfig, ReconnectionConfig
from iii_core.observability._allowlist import DEFAULT_ALLOWLIST
from iii_core.observability._logger import Logger
from iii_core.observability._payload import (
    REDACTED_PLACEHOLDER,
    NonStringKeyError,
    redact,
    redact_and_truncate,
    resolve_max_bytes_from_env,
)
from iii_core.observability._reconnection import reconnection_delay_ms, reconnection_should_retry
from iii_core.observability._settings import OtelConfigError

if TYPE_CHECKING:
    from iii_core.observability._baggage_processor import BaggageSpanProcessor
    from iii_core.observability._http_client import execute_traced_request
    from iii_core.observability._lifecycle import flush_otel, init_otel, shutdown_otel
    from iii_core.observability._propagation import (
        extract_baggage,
        extract_traceparent,
        inject_baggage,
        inject_traceparent,
    )
    from iii_core.observability._spans import (
        current_span_id,
        current_span_is_recording,
        current_trace_id,
        record_span_event,
        set_current_span_attribute,
        set_current_span_error,
    )
    from iii_core.observability._with_span import with_span

__all__ = [
    "DEFAULT_ALLOWLIST",
    "REDACTED_PLACEHOLDER",
    "BaggageSpanProcessor",
    "Logger",
    "NonStringKeyError",
    "OtelConfig",
    "OtelConfigError",
    "ReconnectionConfig",
    "current_span_id",
    "current_span_is_recording",
    "current_trace_id",
    "execute_traced_request",
    "extract_baggage",
    "extract_traceparent",
    "flush_otel",
    "init_otel",
    "inject_baggage",
    "inject_traceparent",
    "reconnection_delay_ms",
    "reconnection_should_retry",
    "record_span_event",
    "redact",
    "redact_and_truncate",
    "resolve_max_bytes_from_env",
    "set_current_span_attribute",
    "set_current_span_error",
    "shutdown_otel",
    "with_span",
]

# Every name that needs the ``otel`` extra, and the private module that defines it.
_NEEDS_OTEL = {
    "BaggageSpanProcessor": "_baggage_processor",
    "execute_traced_request": "_http_client",
    "flush_otel": "_lifecycle",
    "init_otel": "_lifecycle",
    "shutdown_otel": "_lifecycle",
    "extract_baggage": "_propagation",
    "extract_traceparent": "_propagation",
    "inject_baggage": "_propagation",
    "inject_traceparent": "_propagation",
    "current_span_id": "_spans",
    "current_span_is_recording": "_spans",
    "current_trace_id": "_spans",
    "record_span_event": "_spans",
    "set_current_span_attribute": "_spans",
    "set_current_span_error": "_spans",
    "with_span": "_with_span",
}
# The top-level packages the extra installs.
_EXTRA_PACKAGES = frozenset({"opentelemetry", "google", "httpx", "websockets"})


def __getattr__(name: str) -> Any:
    module_name = _NEEDS_OTEL.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(f"{__name__}.{module_name}")
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in _EXTRA_PACKAGES:
            raise
        raise ImportError(
            f"iii_core.observability.{name} needs OpenTelemetry, which is not installed "
            f"(no module {exc.name!r}): pip install 'iii-core[otel]'",
            name=exc.name,
        ) from exc
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
