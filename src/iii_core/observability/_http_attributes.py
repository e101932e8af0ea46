"""The CLIENT span of an outgoing HTTP request: its name, start attributes and whether to skip it.

Rules: one set of rules for ``execute_traced_request`` (httpx) and the urllib instrumentation of
``init_otel``. The span is named ``"{METHOD} {path}"``, or ``METHOD`` when the path is empty. Start
attributes follow the stable HTTP semantic conventions: ``http.request.method`` (upper case) and
``url.full`` always; ``server.address`` with a host; ``url.scheme`` and
``network.protocol.name="http"`` with a scheme; ``url.path`` with a path; ``server.port`` only
when the URL names a port; ``url.query`` (without ``?``) when there is one. A request whose URL
contains any comma-separated, trimmed, non-empty entry of ``OTEL_FETCH_IGNORE_URLS`` is not
traced. Pure: the environment is an argument.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["Attributes", "client_span_start", "is_ignored_url"]

Attributes = dict[str, str | int]

IGNORE_URLS_ENV = "OTEL_FETCH_IGNORE_URLS"


def is_ignored_url(url: str, env: Mapping[str, str]) -> bool:
    """Whether ``url`` matches an ``OTEL_FETCH_IGNORE_URLS`` entry (substring match)."""
    patterns = (entry.strip() for entry in (env.get(IGNORE_URLS_ENV) or "").split(","))
    return any(pattern in url for pattern in patterns if pattern)


def client_span_start(
    *,
    method: str,
    url: str,
    scheme: str,
    host: str,
    port: int | None,
    path: str,
    query: str,
) -> tuple[str, Attributes]:
    """The span name and start attributes for a request to an already parsed URL."""
    method = method.upper()
    attributes: Attributes = {"http.request.method": method, "url.full": url}
    if host:
        attributes["server.address"] = host
    if scheme:
        attributes["url.scheme"] = scheme
        attributes["network.protocol.name"] = "http"
    if path:
        attributes["url.path"] = path
    if port:
        attributes["server.port"] = port
    if query:
        attributes["url.query"] = query
    return (f"{method} {path}" if path else method), attributes
