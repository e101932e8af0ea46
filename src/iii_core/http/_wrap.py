"""``http(callback)``: the iii helper that adapts a streaming handler to the engine's call.

Rules (iii-helpers 0.20.0, as reference §2 describes it): the wrapper takes one positional
argument, the engine's request. A ``dict`` is read with ``path_params``, ``query_params`` and
``headers`` defaulting to ``{}``, ``body`` to None and ``method`` to ``"GET"``; its
``response`` and ``request_body`` are required (``KeyError`` when missing) and every other key
(``path``, ``trigger``) is ignored. Anything else, an :class:`InternalHttpRequest` or any
object with the same attributes, is used as it is (``AttributeError`` when one is missing,
``response`` read first). The callback gets ``(StreamRequest, StreamResponse)`` and its result
is returned unchanged. Like the published helper, the wrapper does not copy the callback's
name or signature (the SDK inspects it for a ``metadata`` parameter, and must see none). No I/O
of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from iii_core.http._stream import InternalHttpRequest, StreamRequest, StreamResponse

__all__ = ["http"]

R = TypeVar("R")


def http(
    callback: Callable[[StreamRequest, StreamResponse], Awaitable[R]],
) -> Callable[[Any], Coroutine[Any, Any, R]]:
    """Wrap ``callback(request, response)`` into a function of the engine's raw request.

    Usable as a decorator (``@http``). The result is what a binding (or the iii SDK's
    ``register_function``) calls.
    """

    async def wrapper(req: Any) -> R:
        internal: Any = req
        if isinstance(req, dict):
            internal = InternalHttpRequest(
                path_params=req.get("path_params", {}),
                query_params=req.get("query_params", {}),
                body=req.get("body"),
                headers=req.get("headers", {}),
                method=req.get("method", "GET"),
                response=req["response"],
                request_body=req["request_body"],
            )
        response = StreamResponse(internal.response)
        request = StreamRequest(
            path_params=internal.path_params,
            query_params=internal.query_params,
            body=internal.body,
            headers=internal.headers,
            method=internal.method,
            request_body=internal.request_body,
        )
        return await callback(request, response)

    return wrapper
