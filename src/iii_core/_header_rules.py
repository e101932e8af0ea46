"""HTTP header rules of the ``http`` crate, as the engine applies them; written once here.

Rules: a header name is a non-empty token (letters, digits and ``!#$%&'*+-.^_`|~``); a value
the engine puts on a response may hold any character except controls (tab allowed, DEL not);
a value the engine reads as text (``HeaderValue::to_str``) must be visible ASCII, space or tab.
Used by ``iii_core.http.engine`` (responses and handler requests), ``iii_core.subscriptions``
(the stream auth input) and ``iii_core.observability`` (the ``/otel`` handshake headers).
Pure, no I/O.
"""

from __future__ import annotations

import string
from typing import Final

__all__ = ["is_header_name", "is_response_header_value", "is_visible_ascii"]

_TOKEN: Final = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")


def is_header_name(name: str) -> bool:
    """Whether ``name`` is a valid header name (a non-empty token)."""
    return bool(name) and all(char in _TOKEN for char in name)


def is_response_header_value(value: str) -> bool:
    """Whether the engine can send ``value`` as a response header value."""
    return all(char == "\t" or (char >= " " and char != "\x7f") for char in value)


def is_visible_ascii(value: str) -> bool:
    """Whether ``value`` is readable as text by the engine: visible ASCII, space or tab."""
    return all(char == "\t" or " " <= char <= "~" for char in value)
