"""Which header names and values the engine can put on an HTTP response or pass to a handler.

Rules (the ``http`` crate's, as the engine uses it): a response header name is a non-empty
token (letters, digits and ``!#$%&'*+-.^_`|~``), sent lower-cased; a value may hold any
character except controls (tab allowed, DEL not); an invalid pair is skipped, never an error.
A request header value reaches the handler only if it is visible ASCII or tab, else as ``""``.
Pure, no I/O.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from typing import Final

__all__ = ["JSON_CONTENT_TYPE", "request_header_value", "response_headers"]

JSON_CONTENT_TYPE: Final = "application/json"
_TOKEN: Final = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")


def _valid_name(name: str) -> bool:
    return bool(name) and all(char in _TOKEN for char in name)


def _valid_value(value: str) -> bool:
    return all(char == "\t" or (char >= " " and char != "\x7f") for char in value)


def response_headers(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The valid pairs, names lower-cased, in order (repeated names are all kept)."""
    return tuple(
        (name.lower(), value) for name, value in pairs if _valid_name(name) and _valid_value(value)
    )


def request_header_value(raw: bytes) -> str:
    """A request header's value as the engine passes it on: visible ASCII or tab, else ``""``."""
    if all(byte == 0x09 or 0x20 <= byte <= 0x7E for byte in raw):
        return raw.decode("ascii")
    return ""
