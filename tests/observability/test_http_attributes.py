"""The CLIENT span shape shared by ``execute_traced_request`` and the urllib instrumentation."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from iii_core.observability._http_attributes import client_span_start, is_ignored_url
from tests.observability.strategies import SETTINGS


def test_full_url() -> None:
    name, attributes = client_span_start(
        method="get", url="http://h:8080/a/b?x=1", scheme="http", host="h", port=8080,
        path="/a/b", query="x=1",
    )  # fmt: skip
    assert name == "GET /a/b"
    assert attributes == {
        "http.request.method": "GET",
        "url.full": "http://h:8080/a/b?x=1",
        "server.address": "h",
        "url.scheme": "http",
        "network.protocol.name": "http",
        "url.path": "/a/b",
        "server.port": 8080,
        "url.query": "x=1",
    }


def test_bare_url() -> None:
    name, attributes = client_span_start(
        method="POST", url="h", scheme="", host="", port=None, path="", query=""
    )
    assert name == "POST"
    assert attributes == {"http.request.method": "POST", "url.full": "h"}


patterns = st.lists(st.text(alphabet="ab:/ ,", max_size=4), max_size=4).map(",".join)


@SETTINGS
@given(st.text(alphabet="ab:/", max_size=10), patterns)
def test_ignored_urls_equal_the_reference(url: str, raw: str) -> None:
    entries = [entry.strip() for entry in raw.split(",")]
    expected = any(entry and entry in url for entry in entries)
    assert is_ignored_url(url, {"OTEL_FETCH_IGNORE_URLS": raw}) is expected


def test_no_ignore_variable() -> None:
    assert not is_ignored_url("http://h", {})
    assert not is_ignored_url("http://h", {"OTEL_FETCH_IGNORE_URLS": " , "})
