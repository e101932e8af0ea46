"""Spans, logs and metrics reach the engine's ``/otel`` WebSocket (a ``websockets`` server in
the test) as prefixed OTLP/JSON frames with hex ids; a missing, late or flaky engine breaks
nothing."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from opentelemetry import trace

from iii_core.observability import (
    Logger,
    OtelConfig,
    ReconnectionConfig,
    current_span_id,
    current_trace_id,
    flush_otel,
    init_otel,
    shutdown_otel,
    with_span,
)
from iii_core.observability._engine_connection import MAX_QUEUE, EngineConnection
from iii_core.observability._runtime import RUNTIME
from tests.loopback import free_port
from tests.observability.receivers import EngineServer, wait_until

FAST = ReconnectionConfig(initial_delay_ms=20, max_delay_ms=100, jitter_factor=0.0)


async def _parent_and_child() -> dict[str, Any]:
    seen: dict[str, Any] = {}
    pipeline = RUNTIME.running()
    assert pipeline is not None and pipeline.meter_provider is not None
    counter = pipeline.meter_provider.get_meter("tests.engine").create_counter(
        "iii.test.engine_calls"
    )

    async def child(span: trace.Span) -> None:
        seen["child"] = current_span_id()
        Logger(service_name="svc").warn("from child", {"k": "v"})
        counter.add(2)

    async def parent(span: trace.Span) -> None:
        seen["trace"], seen["parent"] = current_trace_id(), current_span_id()
        await with_span("child", child, kind=trace.SpanKind.CLIENT)

    await with_span("parent", parent)
    await flush_otel()
    return seen


def test_frames_reach_the_engine_with_hex_ids(engine: EngineServer) -> None:
    init_otel(
        OtelConfig(
            engine_ws_url=engine.url,
            service_name="svc-engine",
            engine_ws_headers={"Authorization": "Bearer t0k", "x-iii-tenant": "acme"},
        )
    )
    seen = asyncio.run(_parent_and_child())
    # the handshake carried the configured headers (iii-helpers 0.24.6 engine_ws_headers)
    assert wait_until(lambda: bool(engine.handshakes))
    assert engine.handshakes[0]["authorization"] == "Bearer t0k"
    assert engine.handshakes[0]["x-iii-tenant"] == "acme"

    assert wait_until(lambda: {s["name"] for s in engine.spans()} >= {"parent", "child"})
    assert {path for path, _ in engine.frames} == {"/otel"}
    spans = {s["name"]: s for s in engine.spans()}
    assert {s["traceId"] for s in spans.values()} == {seen["trace"]}
    assert (spans["parent"]["spanId"], spans["child"]["spanId"]) == (seen["parent"], seen["child"])
    assert "parentSpanId" not in spans["parent"]
    assert spans["child"]["parentSpanId"] == seen["parent"]
    assert (spans["parent"]["kind"], spans["child"]["kind"]) == (1, 3)  # OTLP INTERNAL, CLIENT
    assert spans["parent"]["status"]["code"] == 1  # OK
    resources = {
        attribute["key"]: attribute["value"]
        for request in engine.decoded(b"OTLP")
        for resource_spans in request["resourceSpans"]
        for attribute in resource_spans["resource"]["attributes"]
    }
    assert resources["service.name"] == {"stringValue": "svc-engine"}

    assert wait_until(
        lambda: any(r["body"]["stringValue"] == "from child" for r in engine.log_records())
    )
    record = next(r for r in engine.log_records() if r["body"]["stringValue"] == "from child")
    assert (record["traceId"], record["spanId"]) == (seen["trace"], seen["child"])
    assert (record["severityText"], record["severityNumber"]) == ("WARN", 13)

    def exemplar_trace_ids() -> set[str]:
        return {
            exemplar["traceId"]
            for metric in engine.metrics()
            if metric["name"] == "iii.test.engine_calls"
            for point in metric["sum"]["dataPoints"]
            for exemplar in point["exemplars"]
        }

    assert wait_until(lambda: seen["trace"] in exemplar_trace_ids())


def test_engine_url_keeps_its_path_and_query(engine: EngineServer) -> None:
    init_otel(OtelConfig(engine_ws_url=f"{engine.url}/base/?x=1"))
    asyncio.run(_parent_and_child())
    assert wait_until(lambda: bool(engine.frames))
    assert {path for path, _ in engine.frames} == {"/base/otel?x=1"}


def test_a_missing_engine_breaks_nothing() -> None:
    init_otel(OtelConfig(engine_ws_url=f"ws://127.0.0.1:{free_port()}"))
    seen = asyncio.run(_parent_and_child())  # flush_otel returns: the engine is unreachable
    assert seen["trace"] is not None
    shutdown_otel()
    assert RUNTIME.running() is None


def test_frames_wait_for_a_late_engine() -> None:
    port = free_port()
    connection = EngineConnection(f"ws://127.0.0.1:{port}/otel", reconnection=FAST)
    try:
        for n in range(5):
            connection.send(b"OTLP" + json.dumps({"n": n}).encode())
        assert not connection.flush(5)  # unreachable: gives up at once, frames kept
        server = EngineServer(port)
        try:
            expected = [b"OTLP" + json.dumps({"n": n}).encode() for n in range(5)]
            assert wait_until(lambda: [frame for _, frame in server.frames] == expected)
            assert connection.flush(5)
        finally:
            connection.close(5)
            server.close()
    finally:
        connection.close(5)


def test_a_connection_closed_by_the_engine_is_reopened() -> None:
    server = EngineServer(close_after=2)
    connection = EngineConnection(
        f"{server.url}/otel", headers=[("authorization", "Bearer x")], reconnection=FAST
    )
    try:
        connection.send(b"LOGS1")
        connection.send(b"LOGS2")
        assert wait_until(lambda: server.connections == 2 and connection.connected)
        later = [b"LOGS" + bytes([n]) for n in range(10)]
        for frame in later:
            connection.send(frame)
        assert wait_until(lambda: [f for _, f in server.frames][2:] == later)
        assert [f for _, f in server.frames][:2] == [b"LOGS1", b"LOGS2"]
        # the headers are sent again on the reconnection's handshake
        assert [h["authorization"] for h in server.handshakes] == ["Bearer x", "Bearer x"]
    finally:
        connection.close(5)
        server.close()


def test_the_queue_is_bounded() -> None:
    connection = EngineConnection(f"ws://127.0.0.1:{free_port()}/otel", reconnection=FAST)
    try:
        for _ in range(MAX_QUEUE + 7):
            connection.send(b"MTRC{}")
        assert connection.dropped == 7
    finally:
        connection.close(5)
    connection.send(b"MTRC{}")  # after close: silently ignored
    assert not connection.connected


def test_close_delivers_what_is_queued() -> None:
    server = EngineServer()
    connection = EngineConnection(f"{server.url}/otel", reconnection=FAST)
    try:
        assert wait_until(lambda: connection.connected)
        for n in range(50):
            connection.send(b"OTLP" + bytes([n]))
        connection.close(10)
        assert wait_until(lambda: len(server.frames) == 50)
    finally:
        server.close()


def test_an_engine_refusing_the_handshake_is_retried_with_the_headers() -> None:
    """An engine behind auth: without the right header the upgrade is refused (401), the
    connection keeps retrying, and nothing is lost once the header is right."""
    server = EngineServer(require=("authorization", "Bearer right"))
    wrong = EngineConnection(
        f"{server.url}/otel", headers=[("authorization", "Bearer wrong")], reconnection=FAST
    )
    right = EngineConnection(
        f"{server.url}/otel", headers=[("authorization", "Bearer right")], reconnection=FAST
    )
    try:
        wrong.send(b"OTLPwrong")
        right.send(b"OTLPright")
        assert wait_until(lambda: [f for _, f in server.frames] == [b"OTLPright"])
        assert wait_until(lambda: server.refused >= 2)  # retried, still refused
        assert not wrong.connected
    finally:
        wrong.close(1)
        right.close(5)
        server.close()
