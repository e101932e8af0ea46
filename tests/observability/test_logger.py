"""``Logger``: OpenTelemetry log records while a pipeline runs, stdlib ``logging`` otherwise."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter

from iii_core.observability import Logger, OtelConfig, init_otel, with_span
from iii_core.observability._runtime import RUNTIME


def test_service_name_defaults_to_empty() -> None:
    assert Logger()._service_name == ""


@pytest.mark.parametrize(
    ("method", "level"),
    [
        ("info", logging.INFO),
        ("warn", logging.WARNING),
        ("error", logging.ERROR),
        ("debug", logging.DEBUG),
    ],
)
def test_falls_back_to_stdlib_logging(
    method: str, level: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="iii.logger")
    getattr(Logger(service_name="svc"), method)("hello", {"k": 1})
    (record,) = caplog.records
    assert (record.name, record.levelno, record.getMessage()) == (
        "iii.logger",
        level,
        '[svc] hello {"k":1}',
    )
    assert record.data == {"k": 1}  # type: ignore[attr-defined]


class _Cycle(list[Any]):
    pass


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        (None, "[svc] m"),
        ({"b": 2, "a": [1, "é"]}, '[svc] m {"a":[1,"é"],"b":2}'),  # sorted keys, compact, UTF-8
        ("text", '[svc] m "text"'),
        (0, "[svc] m 0"),
        ({"when": b"\x00"}, r"""[svc] m {"when":"b'\\x00'"}"""),  # non-JSON values as str()
        ({1: "x", "a": 1}, "[svc] m {1: 'x', 'a': 1}"),  # keys json cannot sort: repr()
    ],
)
def test_fallback_shows_data_in_a_stable_format(
    data: Any, shown: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="iii.logger")
    Logger(service_name="svc").info("m", data)
    assert caplog.records[0].getMessage() == shown


def test_fallback_survives_a_cycle_and_deep_nesting(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="iii.logger")
    cycle = _Cycle()
    cycle.append(cycle)
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    Logger(service_name="svc").info("cycle", cycle)
    Logger(service_name="svc").info("deep", deep)
    assert caplog.records[0].getMessage() == "[svc] cycle [[...]]"
    assert caplog.records[1].getMessage().startswith("[svc] deep [[[[")


def test_fallback_data_is_formatted_only_when_emitted(caplog: pytest.LogCaptureFixture) -> None:
    class Loud:
        def __str__(self) -> str:
            raise AssertionError("formatted although the record was dropped")

    caplog.set_level(logging.ERROR, logger="iii.logger")
    Logger().info("dropped", {"x": Loud()})
    assert caplog.records == []


def test_has_no_warning_method() -> None:
    assert not hasattr(Logger(), "warning")


def _records(exporter: InMemoryLogRecordExporter) -> list[Any]:
    pipeline = RUNTIME.running()
    assert pipeline is not None and pipeline.logger_provider is not None
    pipeline.logger_provider.force_flush()
    return [data.log_record for data in exporter.get_finished_logs()]


def test_emits_records_correlated_with_the_active_span(
    pipeline_logs: InMemoryLogRecordExporter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="iii.logger")
    structured = Logger(service_name="svc")

    async def body(span: trace.Span) -> trace.SpanContext:
        structured.info("hello world", {"order": 7})
        structured.warn("careful")
        return span.get_span_context()

    span_context = asyncio.run(with_span("s", body))
    structured.error("outside")
    structured.debug("details")
    records = _records(pipeline_logs)
    assert [(r.body, r.severity_text, r.severity_number) for r in records] == [
        ("hello world", "INFO", SeverityNumber.INFO),
        ("careful", "WARN", SeverityNumber.WARN),
        ("outside", "ERROR", SeverityNumber.ERROR),
        ("details", "DEBUG", SeverityNumber.DEBUG),
    ]
    assert [(r.trace_id, r.span_id) for r in records[:2]] == [
        (span_context.trace_id, span_context.span_id)
    ] * 2
    assert [(r.trace_id, r.span_id) for r in records[2:]] == [(0, 0)] * 2
    assert dict(records[0].attributes) == {"service.name": "svc", "log.data": {"order": 7}}
    assert dict(records[1].attributes) == {"service.name": "svc"}
    assert records[0].timestamp is not None
    assert [r for r in caplog.records if r.name == "iii.logger"] == []  # nothing to stdlib


def test_own_ids_win_and_bad_ids_fall_back(
    pipeline_logs: InMemoryLogRecordExporter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="iii.logger")
    Logger(trace_id="4bf92f3577b34da6a3ce929d0e0e4736", span_id="00f067aa0ba902b7").info("mine")
    Logger(trace_id="not hex", service_name="svc").info("fallback")
    (record,) = _records(pipeline_logs)
    caplog_messages = [r.getMessage() for r in caplog.records if r.name == "iii.logger"]
    assert (record.body, record.trace_id, record.span_id) == (
        "mine",
        0x4BF92F3577B34DA6A3CE929D0E0E4736,
        0x00F067AA0BA902B7,
    )
    assert caplog_messages == ["[svc] fallback"]


def test_logs_disabled_falls_back_to_stdlib(
    no_engine_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Deliberate difference: the published Logger sends such calls to OpenTelemetry's no-op
    logger, where they vanish."""
    caplog.set_level(logging.INFO, logger="iii.logger")
    init_otel(OtelConfig(engine_ws_url=no_engine_url, logs_enabled=False))
    pipeline = RUNTIME.running()
    assert pipeline is not None and pipeline.logger is None
    Logger(service_name="svc").info("still here")
    mine = [r.getMessage() for r in caplog.records if r.name == "iii.logger"]
    assert mine == ["[svc] still here"]


json_data = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text()),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(json_data)
def test_fallback_data_equals_its_reference_form(data: Any) -> None:
    """Compact sorted JSON of ``data``; ``data`` itself is left as it was."""
    before = json.dumps(data)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    logger = logging.getLogger("iii.logger")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        Logger(service_name="s").info("m", data)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    suffix = (
        ""
        if data is None
        else " " + json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    )
    assert records[0].getMessage() == "[s] m" + suffix
    assert json.dumps(data) == before
    if data is not None:
        assert json.loads(records[0].getMessage()[len("[s] m ") :]) == data
