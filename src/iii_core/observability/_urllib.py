"""urllib instrumentation of ``init_otel`` (``OtelConfig.fetch_instrumentation_enabled``).

Rules (iii-helpers 0.20.0): while a pipeline runs, ``urllib.request.OpenerDirector.open`` (so
``urlopen`` too) opens a CLIENT span shaped like ``execute_traced_request``'s, injects the
propagation headers into the request, and records the response status, body size and content
type; a status >= 400 or an exception marks the span ERROR (the exception is recorded once and
re-raised; urllib raises ``HTTPError`` for 4xx/5xx). URLs matched by ``OTEL_FETCH_IGNORE_URLS``
are not traced. ``enable``/``disable`` are idempotent; ``disable`` restores the original method.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import propagate
from opentelemetry.trace import SpanKind, Status, StatusCode

from iii_core.observability._http_attributes import client_span_start, is_ignored_url
from iii_core.observability._state import running

__all__ = ["disable", "enable", "enabled"]

_lock = threading.Lock()
_patched: dict[str, Any] = {}  # "open": the original method while the instrumentation is on


def _traced_open(original: Any) -> Any:
    def traced_open(
        self: urllib.request.OpenerDirector,
        fullurl: str | urllib.request.Request,
        data: Any = None,
        timeout: float | None = socket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
    ) -> Any:
        pipeline = running()
        url = fullurl if isinstance(fullurl, str) else fullurl.full_url
        if pipeline is None or is_ignored_url(url, os.environ):
            return original(self, fullurl, data, timeout)
        if isinstance(fullurl, str):
            fullurl = urllib.request.Request(fullurl, data)
            data = None
        parts = urlsplit(url)
        name, attributes = client_span_start(
            method=fullurl.get_method(),
            url=url,
            scheme=parts.scheme,
            host=parts.hostname or "",
            port=parts.port,
            path=parts.path,
            query=parts.query,
        )
        body = fullurl.data if data is None else data
        if isinstance(body, bytes | bytearray):
            attributes["http.request.body.size"] = len(body)
        if content_type := fullurl.get_header("Content-type"):
            attributes["http.request.header.content-type"] = content_type
        with pipeline.tracer.start_as_current_span(
            name,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            for key, value in carrier.items():
                fullurl.add_unredirected_header(key, value)
            try:
                response = original(self, fullurl, data, timeout)
            except Exception as exc:
                span.set_attribute("error.type", type(exc).__name__)
                span.set_status(Status(StatusCode.ERROR, str(exc)))
                span.record_exception(exc)
                raise
            status = response.status
            span.set_attribute("http.response.status_code", status)
            with contextlib.suppress(TypeError, ValueError):
                span.set_attribute(
                    "http.response.body.size", int(response.headers["content-length"])
                )
            if content_type := response.headers.get("content-type"):
                span.set_attribute("http.response.header.content-type", content_type)
            if status >= 400:
                span.set_attribute("error.type", str(status))
                span.set_status(Status(StatusCode.ERROR, str(status)))
            else:
                span.set_status(Status(StatusCode.OK))
            return response

    return traced_open


def enable() -> None:
    """Route ``OpenerDirector.open`` through a CLIENT span (once)."""
    with _lock:
        if "open" not in _patched:
            original = _patched["open"] = urllib.request.OpenerDirector.open
            urllib.request.OpenerDirector.open = _traced_open(original)  # type: ignore[method-assign]


def disable() -> None:
    """Restore the original ``OpenerDirector.open``."""
    with _lock:
        if "open" in _patched:
            urllib.request.OpenerDirector.open = _patched.pop("open")  # type: ignore[method-assign]


def enabled() -> bool:
    """Whether ``OpenerDirector.open`` is currently traced."""
    with _lock:
        return "open" in _patched
