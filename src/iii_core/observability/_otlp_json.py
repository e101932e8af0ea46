"""The engine's ``/otel`` frames: a 4-byte prefix and an OTLP/JSON export request.

Rules: the OTLP messages are built by OpenTelemetry's own encoders (the ones the OTLP/HTTP
exporter uses) and printed with protobuf's JSON mapping (camelCase names, integer enums, 64-bit
integers as strings, every field present). The one change is the engine's convention for ids:
``traceId``, ``spanId`` and ``parentSpanId`` are lowercase hex instead of base64, and an id that
is absent or all zeros (a root span's parent, a log outside a span) is left out. Prefixes:
``OTLP`` spans, ``LOGS`` logs, ``MTRC`` metrics.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import msgspec
from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.metrics.export import MetricsData
from opentelemetry.sdk.trace import ReadableSpan

__all__ = [
    "PREFIX_LOGS",
    "PREFIX_METRICS",
    "PREFIX_SPANS",
    "hex_ids",
    "logs_frame",
    "metrics_frame",
    "spans_frame",
]

PREFIX_SPANS = b"OTLP"
PREFIX_LOGS = b"LOGS"
PREFIX_METRICS = b"MTRC"

_ID_FIELDS = frozenset({"traceId", "spanId", "parentSpanId"})
_ENCODER = msgspec.json.Encoder()


def hex_ids(tree: Any) -> None:
    """Rewrite, in place, every base64 id field of an OTLP/JSON tree as lowercase hex."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(item for item in node if isinstance(item, dict | list))
            continue
        for key, value in list(node.items()):
            if key in _ID_FIELDS and isinstance(value, str):
                raw = base64.b64decode(value)
                if raw.strip(b"\0"):
                    node[key] = raw.hex()
                else:
                    del node[key]
            elif isinstance(value, dict | list):
                stack.append(value)


def _frame(prefix: bytes, message: Any) -> bytes:
    tree = MessageToDict(
        message, always_print_fields_with_no_presence=True, use_integers_for_enums=True
    )
    hex_ids(tree)
    return prefix + _ENCODER.encode(tree)


def spans_frame(spans: Sequence[ReadableSpan]) -> bytes:
    return _frame(PREFIX_SPANS, encode_spans(spans))


def logs_frame(batch: Sequence[ReadableLogRecord]) -> bytes:
    return _frame(PREFIX_LOGS, encode_logs(batch))


def metrics_frame(data: MetricsData) -> bytes:
    return _frame(PREFIX_METRICS, encode_metrics(data))
