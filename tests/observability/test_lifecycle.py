"""``init_otel`` / ``flush_otel`` / ``shutdown_otel``: idempotence, disabling, repeated cycles
in one process, OpenTelemetry's globals, and bad configuration."""

from __future__ import annotations

import asyncio
from functools import partial

import pytest
from opentelemetry import _logs, metrics, trace

from iii_core.observability import (
    OtelConfig,
    OtelConfigError,
    flush_otel,
    init_otel,
    shutdown_otel,
)
from iii_core.observability import _global_providers as global_providers
from iii_core.observability._state import running
from tests.observability.receivers import EngineServer, wait_until


def test_flush_and_shutdown_before_init_are_harmless() -> None:
    asyncio.run(flush_otel())
    shutdown_otel()
    shutdown_otel()
    assert running() is None


def test_disabled_by_config_and_by_environment(
    monkeypatch: pytest.MonkeyPatch, no_engine_url: str
) -> None:
    init_otel(OtelConfig(enabled=False))
    assert running() is None
    monkeypatch.setenv("OTEL_ENABLED", "off")
    init_otel(OtelConfig(engine_ws_url=no_engine_url))
    assert running() is None
    init_otel(OtelConfig(enabled=True, engine_ws_url=no_engine_url))  # a later call looks again
    assert running() is not None


def test_second_init_is_a_no_op(no_engine_url: str) -> None:
    init_otel(OtelConfig(engine_ws_url=no_engine_url, service_name="first"))
    first = running()
    init_otel(OtelConfig(service_name="second"))
    assert running() is first
    assert first is not None and first.settings.service_name == "first"


def test_default_config_uses_iii_url(monkeypatch: pytest.MonkeyPatch, engine: EngineServer) -> None:
    monkeypatch.setenv("III_URL", engine.url)
    init_otel()
    pipeline = running()
    assert pipeline is not None and pipeline.engine is not None
    assert pipeline.engine.url == f"{engine.url}/otel"
    assert wait_until(lambda: engine.connections == 1)


def test_bad_config_raises_before_anything_starts(no_engine_url: str) -> None:
    with pytest.raises(OtelConfigError, match="logs_batch_size"):
        init_otel(OtelConfig(engine_ws_url=no_engine_url, logs_batch_size=0))
    assert running() is None


def _received(engine: EngineServer, span_name: str, log_body: str) -> bool:
    return span_name in {s["name"] for s in engine.spans()} and log_body in {
        r["body"]["stringValue"] for r in engine.log_records()
    }


def test_globals_follow_the_running_pipeline(engine: EngineServer) -> None:
    tracer = trace.get_tracer("tests.lifecycle")
    meter_counter = metrics.get_meter("tests.lifecycle").create_up_down_counter("iii.test.updown")
    global_logger = _logs.get_logger("tests.lifecycle")
    for cycle in range(3):
        init_otel(OtelConfig(engine_ws_url=engine.url))
        assert trace.get_tracer_provider() is global_providers._TRACER_PROVIDER
        assert metrics.get_meter_provider() is global_providers._METER_PROVIDER
        assert _logs.get_logger_provider() is global_providers._LOGGER_PROVIDER
        with tracer.start_as_current_span(f"global-{cycle}") as span:
            assert span.is_recording()
            meter_counter.add(1)
            global_logger.emit(body=f"log-{cycle}")
        shutdown_otel()
        assert wait_until(partial(_received, engine, f"global-{cycle}", f"log-{cycle}"))
        with tracer.start_as_current_span("between") as idle:
            assert not idle.is_recording()
    assert "between" not in {s["name"] for s in engine.spans()}
    assert any(m["name"] == "iii.test.updown" for m in engine.metrics())


def test_shutdown_runs_at_exit_once(no_engine_url: str) -> None:
    from iii_core.observability import _pipeline

    init_otel(OtelConfig(engine_ws_url=no_engine_url))
    assert _pipeline._EXIT_HOOK.is_set()
