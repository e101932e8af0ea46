"""``execute_traced_request``: send an httpx request inside a CLIENT span.

Rules (iii-helpers 0.20.0, span shape in ``_http_attributes``):
- A URL matched by ``OTEL_FETCH_IGNORE_URLS`` is sent as is: no span, no headers added.
- The span comes from the ``init_otel`` pipeline's tracer, or before ``init_otel`` from the
  global tracer provider (``iii-python-sdk``), which is a no-op unless the application set one.
- Propagation headers (``traceparent``, and ``baggage`` when there is any) are written into
  ``request.headers``; the request's content type, accept header and body size (when the body
  is already in memory) become attributes; then the response status, body size (an integer
  ``content-length``) and content type.
- A status >= 400 gives status ERROR with the status code as description and
  ``error.type=<code>``; the response is returned, not raised. Any other status gives OK.
- An exception from ``client.send`` is recorded once, the status is ERROR with ``str(exc)``,
  ``error.type`` is the exception's class name, and it is re-raised.
"""

from __future__ import annotations

import os

import httpx
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from iii_core.observability._http_attributes import client_span_start, is_ignored_url
from iii_core.observability._runtime import RUNTIME

__all__ = ["execute_traced_request"]

TRACER_NAME = "iii-python-sdk"
_REQUEST_HEADERS = ("content-type", "accept")
_RESPONSE_HEADERS = ("content-type",)


def _in_memory_body_size(request: httpx.Request) -> int | None:
    try:
        return len(request.content) or None
    except httpx.RequestNotRead:  # a streaming body is not read just to measure it
        return None


def _content_length(response: httpx.Response) -> int | None:
    try:
        return int(response.headers.get("content-length") or "")
    except ValueError:
        return None


async def execute_traced_request(
    client: httpx.AsyncClient, request: httpx.Request
) -> httpx.Response:
    """Send ``request`` with ``client`` inside a CLIENT span and return the response."""
    url = request.url
    if is_ignored_url(str(url), os.environ):
        return await client.send(request)
    name, attributes = client_span_start(
        method=request.method,
        url=str(url),
        scheme=url.scheme,
        host=url.host,
        port=url.port,
        path=url.path,
        query=url.query.decode(),
    )
    pipeline = RUNTIME.running()
    tracer = pipeline.tracer if pipeline is not None else trace.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span(
        name,
        kind=SpanKind.CLIENT,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        request.headers.update(carrier)
        for header in _REQUEST_HEADERS:
            if value := request.headers.get(header):
                span.set_attribute(f"http.request.header.{header}", value)
        if size := _in_memory_body_size(request):
            span.set_attribute("http.request.body.size", size)
        try:
            response = await client.send(request)
        except Exception as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, str(exc)))
            span.set_attribute("error.type", type(exc).__name__)
            raise
        span.set_attribute("http.response.status_code", response.status_code)
        if (size := _content_length(response)) is not None:
            span.set_attribute("http.response.body.size", size)
        for header in _RESPONSE_HEADERS:
            if value := response.headers.get(header):
                span.set_attribute(f"http.response.header.{header}", value)
        if response.status_code >= 400:
            span.set_status(Status(StatusCode.ERROR, str(response.status_code)))
            span.set_attribute("error.type", str(response.status_code))
        else:
            span.set_status(Status(StatusCode.OK))
        return response
