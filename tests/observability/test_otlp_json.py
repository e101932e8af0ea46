"""The engine's ``/otel`` frames: OpenTelemetry's OTLP encoding, printed as JSON with hex ids."""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from iii_helpers.observability import telemetry_exporters as upstream
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from iii_core.observability._otlp_json import PREFIX_SPANS, hex_ids, spans_frame
from tests.observability.strategies import SETTINGS

ID_FIELDS = ("traceId", "spanId", "parentSpanId")
ids = st.one_of(
    st.binary(min_size=8, max_size=8), st.binary(min_size=16, max_size=16), st.just(b"")
)
other = st.one_of(st.integers(), st.text(max_size=4), st.none())


def trees(max_leaves: int = 20) -> st.SearchStrategy[Any]:
    """Dicts and lists as MessageToDict prints them: an id field always holds an id."""
    id_fields = st.dictionaries(st.sampled_from(ID_FIELDS), ids.map(lambda raw: ("ID", raw)))
    return st.recursive(
        other,
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.builds(
                lambda plain, with_ids: {**plain, **with_ids},
                st.dictionaries(st.sampled_from(["a", "b"]), children, max_size=3),
                id_fields,
            ),
        ),
        max_leaves=max_leaves,
    ).filter(lambda tree: isinstance(tree, dict | list))


def as_base64(tree: Any) -> Any:
    """The tree as MessageToDict prints it: ids in base64."""
    if isinstance(tree, tuple):
        return base64.b64encode(tree[1]).decode()
    if isinstance(tree, list):
        return [as_base64(item) for item in tree]
    if isinstance(tree, dict):
        return {k: as_base64(v) for k, v in tree.items()}
    return tree


def expected_hex(tree: Any) -> Any:
    if isinstance(tree, tuple):
        return tree[1].hex()
    if isinstance(tree, list):
        return [expected_hex(item) for item in tree]
    if isinstance(tree, dict):
        return {
            k: expected_hex(v)
            for k, v in tree.items()
            if not (isinstance(v, tuple) and not v[1].strip(b"\0"))  # zero or empty ids go
        }
    return tree


@SETTINGS
@given(trees())
def test_hex_ids_equals_the_reference(tree: Any) -> None:
    printed = as_base64(tree)
    hex_ids(printed)
    assert printed == expected_hex(tree)


def _spans() -> list[Any]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    with (
        tracer.start_as_current_span("parent"),
        tracer.start_as_current_span("child", kind=trace.SpanKind.CLIENT) as child,
    ):
        child.set_attribute("n", 3)
    return list(exporter.get_finished_spans())


def test_span_frame_shape_and_ids_as_the_published_exporter() -> None:
    spans = _spans()
    frame = spans_frame(spans)
    assert frame.startswith(PREFIX_SPANS)
    ours = {
        s["name"]: s
        for r in json.loads(frame[4:])["resourceSpans"]
        for ss in r["scopeSpans"]
        for s in ss["spans"]
    }
    published_request = json.loads(upstream._serialize_spans(spans))
    published = {
        s["name"]: s
        for r in published_request["resourceSpans"]
        for ss in r["scopeSpans"]
        for s in ss["spans"]
    }
    assert ours.keys() == published.keys() == {"parent", "child"}
    for name, span in ours.items():
        for field in ("traceId", "spanId", "name", "startTimeUnixNano", "endTimeUnixNano"):
            assert span[field] == published[name][field]
        assert span.get("parentSpanId") == published[name].get("parentSpanId")
    assert "parentSpanId" not in ours["parent"]
    assert ours["child"]["parentSpanId"] == ours["parent"]["spanId"]
    (attribute,) = ours["child"]["attributes"]
    assert (attribute["key"], attribute["value"]) == ("n", {"intValue": "3"})


def test_span_kind_uses_otlp_numbers_unlike_the_published_exporter() -> None:
    """Deliberate difference: OTLP numbers kinds from 1 (INTERNAL); the published exporter
    writes the SDK enum (INTERNAL=0, CLIENT=2), which the engine reads as UNSPECIFIED/SERVER."""
    spans = _spans()
    ours = {
        s["name"]: s["kind"]
        for r in json.loads(spans_frame(spans)[4:])["resourceSpans"]
        for ss in r["scopeSpans"]
        for s in ss["spans"]
    }
    published_request = json.loads(upstream._serialize_spans(spans))
    published = {
        s["name"]: s["kind"]
        for r in published_request["resourceSpans"]
        for ss in r["scopeSpans"]
        for s in ss["spans"]
    }
    assert ours == {"parent": 1, "child": 3}  # SPAN_KIND_INTERNAL, SPAN_KIND_CLIENT
    assert published == {"parent": 0, "child": 2}
