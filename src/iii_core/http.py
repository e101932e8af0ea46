"""The documented types of the iii helper module ``http``, under their documented names.

Rules: every class here is generated from ``schema/http.json``; this module only re-exports
them (the ``http()`` handler wrapper comes with the bindings, in a later issue). Nothing here
performs I/O.

Wire decisions (see the schema descriptions): ``HttpResponse`` is encoded with ``status_code``,
the name the engine reads, never with the published model's ``statusCode`` alias, and a missing
``status_code`` means 200 as in the engine; ``HttpAuthConfig`` is a union discriminated by the
required ``type`` tag (``hmac``, ``bearer``, ``api_key``).
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

__all__ = [
    "HttpAuthApiKey",
    "HttpAuthBearer",
    "HttpAuthConfig",
    "HttpAuthHmac",
    "HttpInvocationConfig",
    "HttpMethod",
    "HttpRequest",
    "HttpResponse",
]
