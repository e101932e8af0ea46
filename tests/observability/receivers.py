"""Real telemetry receivers on loopback, served by the tests themselves.

- ``OtlpReceiver``: an OTLP/HTTP endpoint (``POST /v1/traces``, ``/v1/logs``, ``/v1/metrics``)
  that decodes the protobuf bodies with the ``opentelemetry.proto`` classes.
- ``HttpServer``: a plain HTTP server for the client instrumentation.
- ``EngineServer``: a WebSocket server standing in for the engine's ``/otel`` endpoint; it keeps
  every binary frame with the path it arrived on, and decodes the ``OTLP``/``LOGS``/``MTRC``
  frames as JSON.
Both wait for what they receive with a bounded timeout.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

WAIT_S = 15.0


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


class OtlpReceiver:
    """An OTLP/HTTP protobuf endpoint on a free loopback port."""

    def __init__(self) -> None:
        self.bodies: dict[str, list[bytes]] = {"/v1/traces": [], "/v1/logs": [], "/v1/metrics": []}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                known = self.path in receiver.bodies
                if known:
                    with receiver._lock:
                        receiver.bodies[self.path].append(body)
                self.send_response(200 if known else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def _decoded(self, path: str, message: Any) -> list[Any]:
        with self._lock:
            bodies = list(self.bodies[path])
        decoded = []
        for body in bodies:
            request = message()
            request.ParseFromString(body)
            decoded.append(request)
        return decoded

    def spans(self) -> list[tuple[Any, Any]]:
        """Every received span, with its resource."""
        return [
            (resource_spans.resource, span)
            for request in self._decoded("/v1/traces", ExportTraceServiceRequest)
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]

    def log_records(self) -> list[tuple[Any, Any]]:
        return [
            (resource_logs.resource, record)
            for request in self._decoded("/v1/logs", ExportLogsServiceRequest)
            for resource_logs in request.resource_logs
            for scope_logs in resource_logs.scope_logs
            for record in scope_logs.log_records
        ]

    def metrics(self) -> list[tuple[Any, Any]]:
        return [
            (resource_metrics.resource, metric)
            for request in self._decoded("/v1/metrics", ExportMetricsServiceRequest)
            for resource_metrics in request.resource_metrics
            for scope_metrics in resource_metrics.scope_metrics
            for metric in scope_metrics.metrics
        ]


class HttpServer:
    """A plain HTTP server: ``/status/<code>`` answers that code, anything else 200; the
    headers of every request are kept."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _read_body(self) -> None:
                if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                    self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    return
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    self.rfile.read(size + 2)  # the chunk and its CRLF
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers

            def _answer(self) -> None:
                self._read_body()
                server.headers.append({k.lower(): v for k, v in self.headers.items()})
                path = urlsplit(self.path).path
                code = int(path.rsplit("/", 1)[-1]) if "/status/" in path else 200
                body = b"ok"
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.thread.join(5)


class EngineServer:
    """A WebSocket server that records binary frames, as the engine's ``/otel`` would."""

    def __init__(
        self,
        port: int = 0,
        *,
        close_after: int | None = None,
        require: tuple[str, str] | None = None,
    ) -> None:
        """``require``: a header the handshake must carry, or the upgrade is refused (401)."""
        self.frames: list[tuple[str, bytes]] = []
        self.handshakes: list[dict[str, str]] = []  # each handshake's headers, names lowercased
        self.connections = 0
        self.refused = 0
        self._close_after = close_after
        self._require = require
        self._lock = threading.Lock()
        self._server: Server = serve(self._handle, "127.0.0.1", port, process_request=self._check)
        self.port: int = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        headers = {name.lower(): value for name, value in request.headers.raw_items()}
        with self._lock:
            self.handshakes.append(headers)
            if self._require is None or headers.get(self._require[0]) == self._require[1]:
                return None
            self.refused += 1
        return connection.respond(HTTPStatus.UNAUTHORIZED, "missing credentials\n")

    def _handle(self, connection: ServerConnection) -> None:
        path = connection.request.path if connection.request else ""
        with self._lock:
            self.connections += 1
            first = self.connections == 1
        for received, message in enumerate(connection, start=1):
            with self._lock:
                self.frames.append((path, message if isinstance(message, bytes) else b"TEXT"))
            if first and self._close_after is not None and received >= self._close_after:
                connection.close()
                return

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(5)

    def decoded(self, prefix: bytes) -> list[dict[str, Any]]:
        with self._lock:
            frames = [frame for _, frame in self.frames]
        return [json.loads(frame[4:]) for frame in frames if frame[:4] == prefix]

    def spans(self) -> list[dict[str, Any]]:
        return [
            span
            for request in self.decoded(b"OTLP")
            for resource_spans in request["resourceSpans"]
            for scope_spans in resource_spans["scopeSpans"]
            for span in scope_spans["spans"]
        ]

    def log_records(self) -> list[dict[str, Any]]:
        return [
            record
            for request in self.decoded(b"LOGS")
            for resource_logs in request["resourceLogs"]
            for scope_logs in resource_logs["scopeLogs"]
            for record in scope_logs["logRecords"]
        ]

    def metrics(self) -> list[dict[str, Any]]:
        return [
            metric
            for request in self.decoded(b"MTRC")
            for resource_metrics in request["resourceMetrics"]
            for scope_metrics in resource_metrics["scopeMetrics"]
            for metric in scope_metrics["metrics"]
        ]
