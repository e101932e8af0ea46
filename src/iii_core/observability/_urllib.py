"""urllib instrumentation of ``init_otel`` (``OtelConfig.fetch_instrumentation_enabled``).

Rules (iii-helpers 0.20.0): while a pipeline runs, ``urllib.request.OpenerDirector.open`` (so
``urlopen`` too) opens a CLIENT span shaped like ``execute_traced_request``'s, injects the
propagation headers into the request, and records the response status, body size and content
type; a status >= 400 or an exception marks the span ERROR (the exception is recorded once and
re-raised; urllib raises ``HTTPError`` for 4xx/5xx). URLs matched by ``OTEL_FETCH_IGNORE_URLS``
are not traced. This module only makes the traced method; installing and removing it is the
runtime's (``_runtime``). OpenTelemetry's own ``opentelemetry-instrumentation-urllib`` is not
used: its spans follow the newer HTTP conventions (no ``http.request.header.*`` nor body sizes
of the iii SDKs' span shape) and it would be one more dependency.
"""

from __future__ import annotations

import contextlib
import os
import socket
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from iii_core.observability._http_attributes import client_span_start, is_ignored_url

__all__ = ["traced_open"]


def traced_open(original: Any, tracer: trace.Tracer) -> Any:
    """``original`` (``OpenerDirector.open``) wrapped in CLIENT spans of ``tracer``."""

    def open_traced(
        self: urllib.request.OpenerDirector,
        fullurl: str | urllib.request.Request,
        data: Any = None,
        timeout: float | None = socket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
    ) -> Any:
        url = fullurl if isinstance(fullurl, str) else fullurl.full_url
        if is_ignored_url(url, os.environ):
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
        with tracer.start_as_current_span(
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

    return open_traced
