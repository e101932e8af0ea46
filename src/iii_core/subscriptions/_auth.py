"""The auth hook's side of a connection: its input from the HTTP upgrade request, and the context
its result gives every join and leave hook of that connection.

Rules (the engine's): ``headers`` maps each lowercased header name to its value, keeping only
values made of visible ASCII characters, spaces and tabs (``http::HeaderValue::to_str``, the
rule written once in ``iii_core._header_rules``) and, for
a repeated header, the last value; ``path`` is the request path without its query; in
``query_params`` the query is split on ``&`` and each pair on its first ``=``, values are kept as
sent (no percent-decoding, ``+`` stays ``+``), a pair without ``=`` has the value ``""``, and
pairs with an empty key are skipped; ``addr`` is the peer as ``ip:port`` (``[ip]:port`` for
IPv6). The auth hook cannot reject a connection: a result that is not an object, or has no
``context``, gives no context (``None``). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from msgspec import UNSET

from iii_core._generated.stream import StreamAuthInput, StreamAuthResult
from iii_core._header_rules import is_visible_ascii

__all__ = ["auth_context", "stream_auth_input"]


def _query_params(query: str) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key:
            params.setdefault(key, []).append(value)
    return params


def stream_auth_input(
    target: str, headers: Iterable[tuple[str, str]], peer: tuple[str, int]
) -> StreamAuthInput:
    """``StreamAuthInput`` for an upgrade request.

    ``target`` is the request target as sent (``/path?query``); ``headers`` are the request's
    ``(name, value)`` pairs in order, each value decoded as ISO-8859-1 (one character per byte);
    ``peer`` is the client's ``(host, port)``.
    """
    path, _, query = target.partition("?")
    host, port = peer
    return StreamAuthInput(
        headers={name.lower(): value for name, value in headers if is_visible_ascii(value)},
        path=path,
        query_params=_query_params(query),
        addr=f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
    )


def auth_context(result: Any) -> Any:
    """The context an auth hook's result gives a connection (``None`` for none).

    ``result`` is a :class:`StreamAuthResult`, a mapping with an optional ``context`` key, or
    anything else (no context).
    """
    if isinstance(result, StreamAuthResult):
        return None if result.context is UNSET else result.context
    if isinstance(result, Mapping):
        return result.get("context")
    return None
