"""``init_otel`` / ``flush_otel`` / ``shutdown_otel``: idempotence, disabling, repeated cycles
in one process, OpenTelemetry's globals, and bad configuration."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import urllib.request
from functools import partial
from typing import Any

import pytest
from opentelemetry import trace

from iii_core.observability import (
    Logger,
    OtelConfig,
    OtelConfigError,
    flush_otel,
    init_otel,
    shutdown_otel,
    with_span,
)
from iii_core.observability._runtime import RUNTIME
from tests.observability.receivers import EngineServer, wait_until


def test_flush_and_shutdown_before_init_are_harmless() -> None:
    asyncio.run(flush_otel())
    shutdown_otel()
    shutdown_otel()
    assert RUNTIME.running() is None


def test_disabled_by_config_and_by_environment(
    monkeypatch: pytest.MonkeyPatch, no_engine_url: str
) -> None:
    init_otel(OtelConfig(enabled=False))
    assert RUNTIME.running() is None
    monkeypatch.setenv("OTEL_ENABLED", "off")
    init_otel(OtelConfig(engine_ws_url=no_engine_url))
    assert RUNTIME.running() is None
    init_otel(OtelConfig(enabled=True, engine_ws_url=no_engine_url))  # a later call looks again
    assert RUNTIME.running() is not None


def test_second_init_is_a_no_op(no_engine_url: str) -> None:
    init_otel(OtelConfig(engine_ws_url=no_engine_url, service_name="first"))
    first = RUNTIME.running()
    init_otel(OtelConfig(service_name="second"))
    assert RUNTIME.running() is first
    assert first is not None and first.settings.service_name == "first"


def test_default_config_uses_iii_url(monkeypatch: pytest.MonkeyPatch, engine: EngineServer) -> None:
    monkeypatch.setenv("III_URL", engine.url)
    init_otel()
    pipeline = RUNTIME.running()
    assert pipeline is not None and pipeline.engine is not None
    assert pipeline.engine.url == f"{engine.url}/otel"
    assert wait_until(lambda: engine.connections == 1)


def test_bad_config_raises_before_anything_starts(no_engine_url: str) -> None:
    with pytest.raises(OtelConfigError, match="logs_batch_size"):
        init_otel(OtelConfig(engine_ws_url=no_engine_url, logs_batch_size=0))
    assert RUNTIME.running() is None


def _received(engine: EngineServer, span_name: str, log_body: str) -> bool:
    return span_name in {s["name"] for s in engine.spans()} and log_body in {
        r["body"]["stringValue"] for r in engine.log_records()
    }


def test_the_helpers_follow_every_pipeline(engine: EngineServer) -> None:
    """init -> shutdown -> init, three times in one process: each pipeline exports what the
    iii helpers record while it runs, and nothing is recorded in between."""
    for cycle in range(3):
        init_otel(OtelConfig(engine_ws_url=engine.url))
        pipeline = RUNTIME.running()
        assert pipeline is not None and pipeline.meter_provider is not None
        counter = pipeline.meter_provider.get_meter("tests").create_up_down_counter("iii.updown")

        async def work(span: trace.Span, cycle: int = cycle, counter: Any = counter) -> None:
            counter.add(1)
            Logger().info(f"log-{cycle}")

        asyncio.run(with_span(f"span-{cycle}", work))
        shutdown_otel()
        assert wait_until(partial(_received, engine, f"span-{cycle}", f"log-{cycle}"))
        asyncio.run(with_span("between", lambda span: span.is_recording()))
    assert "between" not in {s["name"] for s in engine.spans()}
    assert any(m["name"] == "iii.updown" for m in engine.metrics())


_GLOBALS_SCRIPT = """
import sys
from opentelemetry import _logs, metrics, trace
from iii_core.observability import OtelConfig, init_otel, shutdown_otel
from iii_core.observability._runtime import RUNTIME

init_otel(OtelConfig(engine_ws_url=sys.argv[1]))
first = RUNTIME.running()
assert trace.get_tracer_provider() is first.tracer_provider
assert metrics.get_meter_provider() is first.meter_provider
assert _logs.get_logger_provider() is first.logger_provider
with trace.get_tracer("tests.global").start_as_current_span("global-span"):
    pass
shutdown_otel()
init_otel(OtelConfig(engine_ws_url=sys.argv[1]))
assert RUNTIME.running() is not first
assert trace.get_tracer_provider() is first.tracer_provider  # offered once, kept by OpenTelemetry
shutdown_otel()
print("ok")
"""


def test_globals_are_offered_the_first_pipeline_once(engine: EngineServer) -> None:
    """In a fresh process (OpenTelemetry's globals can be set once per process)."""
    result = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c", _GLOBALS_SCRIPT, engine.url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "ok"), result.stderr
    assert wait_until(lambda: "global-span" in {s["name"] for s in engine.spans()})
    assert "Overriding of current" not in result.stderr


_EXIT_SCRIPT = """
import asyncio, sys
from iii_core.observability import OtelConfig, init_otel, with_span

init_otel(OtelConfig(engine_ws_url=sys.argv[1], spans_flush_interval_ms=60000))
init_otel(OtelConfig(engine_ws_url=sys.argv[1]))  # a no-op: one exit hook
asyncio.run(with_span("at-exit", lambda span: None))
"""


def test_shutdown_runs_at_exit(engine: EngineServer) -> None:
    """A process that never calls shutdown_otel still delivers its last span (the batch delay
    is a minute, so only the exit hook's flush can send it)."""
    result = subprocess.run(
        [sys.executable, "-c", _EXIT_SCRIPT, engine.url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert wait_until(lambda: "at-exit" in {s["name"] for s in engine.spans()})


def test_the_exit_hook_is_registered_once(no_engine_url: str) -> None:
    init_otel(OtelConfig(engine_ws_url=no_engine_url))
    assert RUNTIME.exit_hook_registered


def test_concurrent_init_and_shutdown_leave_one_consistent_state(no_engine_url: str) -> None:
    """The runtime's lock: racing init_otel/shutdown_otel calls never run two pipelines, never
    wrap urllib twice, and always leave urllib restored once stopped."""
    original = urllib.request.OpenerDirector.open
    barrier = threading.Barrier(8)
    seen: list[object] = []

    def race(index: int) -> None:
        barrier.wait(10)
        if index % 2:
            init_otel(OtelConfig(engine_ws_url=no_engine_url))
            seen.append(RUNTIME.running())
        else:
            shutdown_otel()

    threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    pipeline = RUNTIME.running()
    assert (urllib.request.OpenerDirector.open is not original) is (pipeline is not None)
    assert RUNTIME.urllib_patched is (pipeline is not None)
    shutdown_otel()
    assert urllib.request.OpenerDirector.open is original
    assert RUNTIME.running() is None and not RUNTIME.urllib_patched
    init_otel(OtelConfig(engine_ws_url=no_engine_url))
    patched = urllib.request.OpenerDirector.open
    init_otel(OtelConfig(engine_ws_url=no_engine_url))
    assert urllib.request.OpenerDirector.open is patched  # a second init wraps nothing
