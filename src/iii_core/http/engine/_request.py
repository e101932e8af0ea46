"""The engine's side of a request: the payload an HTTP-triggered handler receives.

Rules (the engine's REST worker):
- ``query_params``: the query string decoded as a form (``+`` is a space, percent escapes,
  invalid UTF-8 replaced by U+FFFD, a key without ``=`` has the value ``""``); a repeated key
  keeps its last value. Every value is a single string.
- ``headers``: names lower-case; a repeated header keeps its last value; a value that is not
  visible ASCII (or tab) is ``""``.
- ``path_params``: a route segment ``:name`` takes the path segment at the same position; both
  are split on ``/`` with empty segments dropped, and a different segment count gives none.
  Values are the raw, still percent-encoded, path text.
- ``body``: for a request whose first ``content-type`` contains ``application/json`` (case
  matters), the parsed JSON, or None when it does not parse; the raw bytes are also sent on
  ``request_body``. For every other request, None, and the bytes come only on ``request_body``.
- ``path`` is the route, and ``trigger`` is ``{"type": "http", "path": route, "method": ...}``.
Route matching (:func:`match_route`) is the router's: same segments, ``:name`` matching one
non-empty segment; of several matching routes, the one whose leftmost differing segment is
fixed text wins (``/users/me`` before ``/users/:id``). Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_to_bytes

import msgspec

from iii_core.http.engine._headers import JSON_CONTENT_TYPE, request_header_value

__all__ = [
    "engine_request",
    "is_json_request",
    "match_route",
    "parse_json_body",
    "path_params",
    "query_params",
    "request_headers",
]

_decoder = msgspec.json.Decoder()


def query_params(query_string: bytes) -> dict[str, str]:
    """The query string as the engine decodes it into ``query_params``."""
    params: dict[str, str] = {}
    for pair in query_string.split(b"&"):
        if not pair:
            continue
        key, _, value = pair.partition(b"=")
        params[_form_text(key)] = _form_text(value)
    return params


def _form_text(raw: bytes) -> str:
    return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8", "replace")


def request_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Request headers (ASGI-style byte pairs) as the engine passes them to the handler."""
    return {name.decode("latin-1").lower(): request_header_value(value) for name, value in raw}


def _segments(path: str) -> list[str]:
    return [segment for segment in path.split("/") if segment]


def path_params(route: str, path: str) -> dict[str, str]:
    """The ``:name`` segments of ``route`` taken from ``path``."""
    route_segments, path_segments = _segments(route), _segments(path)
    if len(route_segments) != len(path_segments):
        return {}
    return {
        pattern[1:]: actual
        for pattern, actual in zip(route_segments, path_segments, strict=True)
        if pattern.startswith(":")
    }


def _serves(route: str, path: str) -> bool:
    route_segments, path_segments = route.split("/"), path.split("/")
    if len(route_segments) != len(path_segments):
        return False
    return all(
        (pattern.startswith(":") and actual != "") or pattern == actual
        for pattern, actual in zip(route_segments, path_segments, strict=True)
    )


def _specificity(route: str) -> list[bool]:
    return [segment.startswith(":") for segment in route.split("/")]


def match_route(routes: Iterable[str], path: str) -> str | None:
    """The route that serves ``path`` (``/users/:id`` serves ``/users/42``), or None."""
    matching = [route for route in routes if _serves(route, path)]
    return min(matching, key=_specificity) if matching else None


def is_json_request(raw_headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether the engine parses this request's body as JSON (its first ``content-type``)."""
    for name, value in raw_headers:
        if name.lower() == b"content-type":
            return JSON_CONTENT_TYPE in request_header_value(value)
    return False


def parse_json_body(raw: bytes | str) -> Any:
    """JSON as the engine reads a request body (or a control message): the value, or None
    when it is not JSON."""
    try:
        return _decoder.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return None


def engine_request(
    *,
    method: str,
    route: str,
    path: str,
    query_string: bytes,
    headers: Iterable[tuple[bytes, bytes]],
    body: Any,
    request_body: Any,
    response: Any,
) -> dict[str, Any]:
    """The payload the engine sends to the function an HTTP trigger calls.

    ``request_body`` and ``response`` are the binding's source and sink (where the engine puts
    channel references, which the SDK turns into channel objects before the handler runs).
    """
    return {
        "query_params": query_params(query_string),
        "path_params": path_params(route, path),
        "headers": request_headers(headers),
        "path": route,
        "method": method,
        "body": body,
        "trigger": {"type": "http", "path": route, "method": method},
        "request_body": request_body,
        "response": response,
    }
