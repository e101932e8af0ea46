"""The iii helper module ``http``: its documented types, ``http()``, and the channels a wrapped
handler streams through.

Rules: the types are generated from ``schema/http.json`` and only re-exported here.
``HttpResponse`` is encoded with ``status_code``, the name the engine reads, never with the
published model's ``statusCode`` alias (which the engine ignores, answering 200), and a missing
``status_code`` means 200 as in the engine; ``HttpAuthConfig`` is discriminated by its required
``type`` tag. :func:`http` wraps a ``(StreamRequest, StreamResponse)`` handler as iii-helpers
does; the response goes to a :class:`ResponseSink` and the request body comes from a
:class:`RequestBodySource`, both supplied by a binding (``iii_core.asgi``, or an iii SDK
channel).

The package has two halves. ``iii_core.http.engine`` is the engine's side of the exchange
(request payload, response assembly, control messages, header rules): pure core, under the
import contract, no asyncio. This package itself is the asyncio half a handler sees (the
writer's ordered fire-and-forget calls schedule tasks on the running loop); it performs no
I/O of its own and imports no binding.
"""

from iii_core._generated.http import (
    HttpAuthApiKey,
    HttpAuthBearer,
    HttpAuthConfig,
    HttpAuthHmac,
    HttpInvocationConfig,
    HttpMethod,
    HttpRequest,
    HttpResponse,
)
from iii_core.http._errors import ClientDisconnected, ResponseClosed
from iii_core.http._sink import ResponseSink, ResponseWriter, WritableStream
from iii_core.http._source import RequestBody, RequestBodySource
from iii_core.http._stream import InternalHttpRequest, StreamRequest, StreamResponse
from iii_core.http._wrap import http

__all__ = [
    "ClientDisconnected",
    "HttpAuthApiKey",
    "HttpAuthBearer",
    "HttpAuthConfig",
    "HttpAuthHmac",
    "HttpInvocationConfig",
    "HttpMethod",
    "HttpRequest",
    "HttpResponse",
    "InternalHttpRequest",
    "RequestBody",
    "RequestBodySource",
    "ResponseClosed",
    "ResponseSink",
    "ResponseWriter",
    "StreamRequest",
    "StreamResponse",
    "WritableStream",
    "http",
]
