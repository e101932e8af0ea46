"""What ``init_otel`` will set up, resolved purely from an ``OtelConfig`` and an environment.

Rules (iii-helpers 0.20.0, except where marked):
- A config field that is absent (``UNSET``) or None falls back to its environment variable, then
  to the built-in default. String fields fall back when empty too (``cfg.x or env or default``).
- ``enabled``: config, else ``OTEL_ENABLED`` not in false/0/no/off (case-insensitive); unset
  means enabled.
- Integer settings from the environment are ``int()`` literals at or above a minimum; an invalid
  or too small value is ignored. The minimum is 1 for the flush intervals and the batch size,
  because OpenTelemetry rejects 0 (the published package accepts ``0`` from the environment and
  then fails inside ``init_otel``). An explicit config value below 1 raises ``OtelConfigError``
  before anything is set up.
- The engine URL gets ``/otel`` appended to its path (query and fragment kept, a trailing ``/``
  dropped, never doubled). ``engine_ws_headers`` (iii-helpers 0.24.6) are sent on its
  handshake; no environment fallback. A header that could not be sent (a name that is not an
  HTTP token, a value with a control or non-ASCII character) raises ``OtelConfigError``.
- Beyond the published package: OTLP/HTTP export of a signal is on when the standard
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` or the signal's ``OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT`` is
  set (the OpenTelemetry exporter reads those itself). The engine ``/otel`` WebSocket is used
  when ``engine_ws_url`` or ``III_URL`` is given, and also when no OTLP endpoint is set at all,
  which is the published behaviour (always the engine, by default ``ws://localhost:49134``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from msgspec import UNSET

from iii_core._generated.observability import OtelConfig
from iii_core._header_rules import is_header_name, is_visible_ascii
from iii_core.errors import ErrorCode, IIICoreError

__all__ = [
    "DEFAULT_ENGINE_URL",
    "DEFAULT_SERVICE_NAME",
    "OtelConfigError",
    "OtelSettings",
    "engine_otel_url",
    "resolve_settings",
]

DEFAULT_SERVICE_NAME = "iii-python-sdk"
DEFAULT_ENGINE_URL = "ws://localhost:49134"
_DISABLED = ("false", "0", "no", "off")
_OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"


class OtelConfigError(IIICoreError, ValueError):
    """An ``OtelConfig`` value that OpenTelemetry cannot run with."""

    code = ErrorCode.INVALID_OTEL_CONFIG


@dataclass(frozen=True, kw_only=True)
class OtelSettings:
    """Everything an enabled ``init_otel`` needs, with every fallback applied."""

    service_name: str
    service_version: str
    service_instance_id: str | None  # None: init_otel draws a uuid4
    service_namespace: str | None
    engine_url: str | None  # the /otel WebSocket URL, or None for no engine export
    engine_ws_headers: tuple[tuple[str, str], ...]  # sent on the /otel handshake
    spans_flush_interval_ms: int
    logs_enabled: bool
    logs_flush_interval_ms: int
    logs_batch_size: int
    metrics_enabled: bool
    metrics_export_interval_ms: int
    fetch_instrumentation_enabled: bool
    otlp_traces: bool
    otlp_logs: bool
    otlp_metrics: bool


def engine_otel_url(base: str) -> str:
    """The engine's dedicated ``/otel`` endpoint for a WebSocket URL."""
    parts = urlsplit(base)
    path = parts.path.rstrip("/")
    if not path.endswith("/otel"):
        path = f"{path}/otel"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def _given(value: Any) -> Any:
    return None if value is UNSET else value


def _env_int(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        return default
    return value if value >= minimum else default


def _setting(
    config: OtelConfig, field: str, env: Mapping[str, str], name: str, default: int
) -> int:
    value = _given(getattr(config, field))
    if value is None:
        return _env_int(env, name, default, minimum=1)
    if value < 1:
        raise OtelConfigError(f"OtelConfig.{field} must be >= 1, got {value}")
    return int(value)


def _handshake_headers(config: OtelConfig) -> tuple[tuple[str, str], ...]:
    headers = _given(config.engine_ws_headers) or {}
    for name, value in headers.items():
        if not is_header_name(name):
            raise OtelConfigError(f"OtelConfig.engine_ws_headers: invalid header name {name!r}")
        if not is_visible_ascii(value):
            raise OtelConfigError(
                f"OtelConfig.engine_ws_headers[{name!r}]: a value must be visible ASCII, "
                "space or tab"
            )
    return tuple(headers.items())


def _signal_endpoint(env: Mapping[str, str], signal: str) -> bool:
    return bool(env.get(_OTLP_ENDPOINT) or env.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"))


def resolve_settings(config: OtelConfig, env: Mapping[str, str]) -> OtelSettings | None:
    """Apply every fallback of ``init_otel`` to ``config`` with the environment ``env``.

    None when OpenTelemetry is disabled; the other values are then not looked at (nor checked).
    """
    enabled = _given(config.enabled)
    if enabled is None:
        enabled = env.get("OTEL_ENABLED", "").lower() not in _DISABLED
    if not enabled:
        return None
    otlp_traces = _signal_endpoint(env, "TRACES")
    otlp_logs = _signal_endpoint(env, "LOGS")
    otlp_metrics = _signal_endpoint(env, "METRICS")
    engine_base = _given(config.engine_ws_url) or env.get("III_URL")
    if not engine_base and not (otlp_traces or otlp_logs or otlp_metrics):
        engine_base = DEFAULT_ENGINE_URL
    logs_enabled = _given(config.logs_enabled)
    metrics_enabled = _given(config.metrics_enabled)
    fetch = _given(config.fetch_instrumentation_enabled)
    export_interval = _given(config.metrics_export_interval_ms)
    if export_interval is None:
        export_interval = 60000
    elif export_interval < 1:
        raise OtelConfigError(
            f"OtelConfig.metrics_export_interval_ms must be >= 1, got {export_interval}"
        )
    return OtelSettings(
        service_name=_given(config.service_name)
        or env.get("OTEL_SERVICE_NAME")
        or DEFAULT_SERVICE_NAME,
        service_version=_given(config.service_version) or env.get("SERVICE_VERSION") or "unknown",
        service_instance_id=_given(config.service_instance_id)
        or env.get("SERVICE_INSTANCE_ID")
        or None,
        service_namespace=_given(config.service_namespace) or env.get("SERVICE_NAMESPACE") or None,
        engine_url=engine_otel_url(engine_base) if engine_base else None,
        engine_ws_headers=_handshake_headers(config),
        spans_flush_interval_ms=_setting(
            config, "spans_flush_interval_ms", env, "OTEL_SPANS_FLUSH_INTERVAL_MS", 100
        ),
        logs_enabled=True if logs_enabled is None else bool(logs_enabled),
        logs_flush_interval_ms=_setting(
            config, "logs_flush_interval_ms", env, "OTEL_LOGS_FLUSH_INTERVAL_MS", 100
        ),
        logs_batch_size=_setting(config, "logs_batch_size", env, "OTEL_LOGS_BATCH_SIZE", 1),
        metrics_enabled=True if metrics_enabled is None else bool(metrics_enabled),
        metrics_export_interval_ms=int(export_interval),
        fetch_instrumentation_enabled=True if fetch is None else bool(fetch),
        otlp_traces=otlp_traces,
        otlp_logs=otlp_logs,
        otlp_metrics=otlp_metrics,
    )
