"""``init_otel``'s configuration, resolved purely from an ``OtelConfig`` and an environment."""

from __future__ import annotations

import os
import subprocess
import sys
from unittest import mock

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from iii_helpers.observability import telemetry as upstream

from iii_core import decode
from iii_core.observability import OtelConfig, OtelConfigError
from iii_core.observability._settings import (
    DEFAULT_ENGINE_URL,
    OtelSettings,
    engine_otel_url,
    resolve_settings,
)
from tests.observability.strategies import SETTINGS


def settings(config: OtelConfig | None = None, **env: str) -> OtelSettings:
    resolved = resolve_settings(config or OtelConfig(), env)
    assert resolved is not None
    return resolved


def test_defaults() -> None:
    resolved = settings()
    assert resolved == OtelSettings(
        service_name="iii-python-sdk",
        service_version="unknown",
        service_instance_id=None,
        service_namespace=None,
        engine_url=DEFAULT_ENGINE_URL + "/otel",
        engine_ws_headers=(),
        spans_flush_interval_ms=100,
        logs_enabled=True,
        logs_flush_interval_ms=100,
        logs_batch_size=1,
        metrics_enabled=True,
        metrics_export_interval_ms=60000,
        fetch_instrumentation_enabled=True,
        otlp_traces=False,
        otlp_logs=False,
        otlp_metrics=False,
    )


@pytest.mark.parametrize("value", ["false", "0", "no", "off", "FALSE", "Off"])
def test_disabled_by_environment(value: str) -> None:
    assert resolve_settings(OtelConfig(), {"OTEL_ENABLED": value}) is None
    assert resolve_settings(OtelConfig(enabled=True), {"OTEL_ENABLED": value}) is not None


@pytest.mark.parametrize("value", ["", "true", "1", "yes", "anything"])
def test_enabled_by_environment(value: str) -> None:
    assert resolve_settings(OtelConfig(), {"OTEL_ENABLED": value}) is not None
    assert resolve_settings(OtelConfig(enabled=False), {"OTEL_ENABLED": value}) is None
    assert resolve_settings(OtelConfig(enabled=None), {"OTEL_ENABLED": value}) is not None


def test_disabled_config_is_not_checked() -> None:
    assert resolve_settings(OtelConfig(enabled=False, logs_batch_size=0), {}) is None


def test_service_fields_fall_back_config_then_env_then_default() -> None:
    env = {
        "OTEL_SERVICE_NAME": "env-svc",
        "SERVICE_VERSION": "2",
        "SERVICE_INSTANCE_ID": "i-1",
        "SERVICE_NAMESPACE": "ns",
    }
    from_env = settings(None, **env)
    assert (from_env.service_name, from_env.service_version) == ("env-svc", "2")
    assert (from_env.service_instance_id, from_env.service_namespace) == ("i-1", "ns")
    config = OtelConfig(service_name="cfg", service_version="", service_namespace=None)
    mixed = settings(config, **env)
    assert (mixed.service_name, mixed.service_version, mixed.service_namespace) == (
        "cfg",
        "2",
        "ns",
    )


def test_engine_url_from_config_then_iii_url() -> None:
    assert settings(OtelConfig(engine_ws_url="ws://e:1"), III_URL="ws://x").engine_url == (
        "ws://e:1/otel"
    )
    assert settings(None, III_URL="wss://h/base?x=1").engine_url == "wss://h/base/otel?x=1"


def test_otlp_endpoints_per_signal() -> None:
    every = settings(None, OTEL_EXPORTER_OTLP_ENDPOINT="http://c:4318")
    assert (every.otlp_traces, every.otlp_logs, every.otlp_metrics) == (True, True, True)
    assert every.engine_url is None  # OTLP only, unless an engine is named
    traces = settings(None, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://c:4318/v1/traces")
    assert (traces.otlp_traces, traces.otlp_logs, traces.otlp_metrics) == (True, False, False)
    both = settings(OtelConfig(engine_ws_url="ws://e"), OTEL_EXPORTER_OTLP_ENDPOINT="http://c")
    assert both.engine_url == "ws://e/otel" and both.otlp_traces
    assert settings(None, III_URL="ws://e", OTEL_EXPORTER_OTLP_ENDPOINT="http://c").engine_url


@pytest.mark.parametrize(
    ("field", "env_name", "default"),
    [
        ("spans_flush_interval_ms", "OTEL_SPANS_FLUSH_INTERVAL_MS", 100),
        ("logs_flush_interval_ms", "OTEL_LOGS_FLUSH_INTERVAL_MS", 100),
        ("logs_batch_size", "OTEL_LOGS_BATCH_SIZE", 1),
    ],
)
def test_integer_settings(field: str, env_name: str, default: int) -> None:
    assert getattr(settings(None, **{env_name: "7"}), field) == 7
    assert getattr(settings(None, **{env_name: " 7 "}), field) == 7
    for invalid in ("not-a-number", "-5", "0", "1.5", ""):
        assert getattr(settings(None, **{env_name: invalid}), field) == default
    assert getattr(settings(msgspec.convert({field: 3}, OtelConfig), **{env_name: "7"}), field) == 3
    with pytest.raises(OtelConfigError, match=field):
        resolve_settings(msgspec.convert({field: 0}, OtelConfig), {})


def test_metric_settings() -> None:
    config = OtelConfig(metrics_enabled=False, metrics_export_interval_ms=5)
    resolved = settings(config)
    assert (resolved.metrics_enabled, resolved.metrics_export_interval_ms) == (False, 5)
    with pytest.raises(OtelConfigError, match="metrics_export_interval_ms"):
        resolve_settings(OtelConfig(metrics_export_interval_ms=0), {})


int_texts = st.one_of(
    st.integers(-3, 10**6).map(str),
    st.text(alphabet="0123456789 +-_.abc", max_size=6),
)


@SETTINGS
@given(int_texts)
def test_environment_integers_match_published_package_at_minimum_one(raw: str) -> None:
    """The batch size: same minimum (1) in both; so the same result for every text."""
    with mock.patch.dict(os.environ, {"OTEL_LOGS_BATCH_SIZE": raw}):
        published = upstream._resolve_int(None, "OTEL_LOGS_BATCH_SIZE", default=1, minimum=1)
    assert settings(None, OTEL_LOGS_BATCH_SIZE=raw).logs_batch_size == published


@SETTINGS
@given(int_texts)
def test_flush_intervals_match_published_package_except_zero(raw: str) -> None:
    with mock.patch.dict(os.environ, {"OTEL_SPANS_FLUSH_INTERVAL_MS": raw}):
        published = upstream._resolve_int(None, "OTEL_SPANS_FLUSH_INTERVAL_MS", default=100)
    ours = settings(None, OTEL_SPANS_FLUSH_INTERVAL_MS=raw).spans_flush_interval_ms
    assert ours == (100 if published == 0 else published)


def test_zero_flush_interval_breaks_published_init_but_not_ours() -> None:
    """Deliberate difference: OpenTelemetry rejects a 0 ms delay, which the published package
    reads from the environment and then fails on inside ``init_otel``."""
    script = (
        "from iii_helpers.observability import init_otel, OtelConfig\n"
        "try:\n"
        "    init_otel(OtelConfig(engine_ws_url='ws://127.0.0.1:9'))\n"
        "except ValueError as exc:\n"
        "    print('ValueError', exc)\n"
    )
    env = {**os.environ, "OTEL_SPANS_FLUSH_INTERVAL_MS": "0"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "ValueError schedule_delay_millis must be positive" in done.stdout
    assert settings(None, OTEL_SPANS_FLUSH_INTERVAL_MS="0").spans_flush_interval_ms == 100


url_parts = st.text(alphabet="abc/?#=&.:", max_size=8)


@SETTINGS
@given(st.sampled_from(["ws", "wss", "http", ""]), url_parts, url_parts)
def test_engine_url_matches_published_package(scheme: str, host: str, rest: str) -> None:
    url = f"{scheme}://{host}{rest}" if scheme else f"{host}{rest}"
    try:
        published = upstream._append_otel_path(url)
    except ValueError:  # urlsplit rejects some hosts; so must we
        with pytest.raises(ValueError):
            engine_otel_url(url)
        return
    assert engine_otel_url(url) == published


def test_engine_ws_headers() -> None:
    headers = {"Authorization": "Bearer t", "x-a": "1\t2"}
    assert settings(OtelConfig(engine_ws_headers=headers)).engine_ws_headers == (
        ("Authorization", "Bearer t"),
        ("x-a", "1\t2"),
    )
    assert settings(OtelConfig(engine_ws_headers=None)).engine_ws_headers == ()
    for bad, field in [({"a b": "x"}, "invalid header name"), ({"x": "a\r\nb: c"}, "visible")]:
        with pytest.raises(OtelConfigError, match=field):
            resolve_settings(OtelConfig(engine_ws_headers=bad), {})
    # decoded from JSON like every config field
    assert decode(b'{"engine_ws_headers": {"k": "v"}}', OtelConfig).engine_ws_headers == {"k": "v"}
