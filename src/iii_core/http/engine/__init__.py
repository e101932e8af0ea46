"""The engine's side of an HTTP-triggered call, for bindings that serve HTTP themselves.

Rules: everything here is what the iii engine's REST worker does around a handler, as pure
functions: the payload it builds from a request (:func:`engine_request` and its parts), and
the response it makes of the handler's channel frames and return value
(:class:`ResponseAssembler`, :func:`buffered_response`). A binding does the I/O: it feeds
frames and outcomes in and sends the returned events. No I/O here.
"""

from iii_core.http.engine._control import apply_control_message
from iii_core.http.engine._request import (
    engine_request,
    is_json_request,
    match_route,
    parse_json_body,
    path_params,
    query_params,
    request_headers,
)
from iii_core.http.engine._response import (
    NOT_FOUND,
    BufferedResponse,
    ResponseAssembler,
    ResponseEvent,
    StreamAbort,
    StreamChunk,
    StreamEnd,
    StreamStart,
    buffered_response,
    error_response,
)

__all__ = [
    "NOT_FOUND",
    "BufferedResponse",
    "ResponseAssembler",
    "ResponseEvent",
    "StreamAbort",
    "StreamChunk",
    "StreamEnd",
    "StreamStart",
    "apply_control_message",
    "buffered_response",
    "engine_request",
    "error_response",
    "is_json_request",
    "match_route",
    "parse_json_body",
    "path_params",
    "query_params",
    "request_headers",
]
