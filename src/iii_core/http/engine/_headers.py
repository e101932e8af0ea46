"""Which header names and values the engine can put on an HTTP response or pass to a handler.

Rules (the ``http`` crate's, as the engine uses it; written once in ``iii_core._header_rules``):
a response header name is a non-empty token, sent lower-cased; a value may hold any character
except controls (tab allowed, DEL not); an invalid pair is skipped, never an error. A request
header value reaches the handler only if it is visible ASCII, space or tab, else as ``""``.
Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from iii_core._header_rules import is_header_name, is_response_header_value, is_visible_ascii

__all__ = ["JSON_CONTENT_TYPE", "request_header_value", "response_headers"]

JSON_CONTENT_TYPE: Final = "application/json"


def response_headers(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The valid pairs, names lower-cased, in order (repeated names are all kept)."""
    return tuple(
        (name.lower(), value)
        for name, value in pairs
        if is_header_name(name) and is_response_header_value(value)
    )


def request_header_value(raw: bytes) -> str:
    """A request header's value as the engine passes it on: visible ASCII or tab, else ``""``."""
    text = raw.decode("latin-1")  # one character per byte: a non-ASCII byte fails the rule
    return text if is_visible_ascii(text) else ""
