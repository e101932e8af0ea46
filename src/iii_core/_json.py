"""JSON text to a Python value with serde_json's rules, as the engine reads every request.

Rules (serde_json 1.x without ``arbitrary_precision``, the engine's build):
- ``-0`` is the float ``-0.0`` (so an ``increment`` of it gives ``1.0``, not ``1``);
- an integer literal outside ``[-2**63, 2**64 - 1]`` is a float (rounded to the nearest
  ``f64``); one too large for an ``f64`` is refused, as serde_json refuses it;
- at most :data:`MAX_DEPTH` - 1 containers nest (serde_json's recursion limit of 128), so the
  depth is a documented bound rather than Python's recursion limit;
- every other number, string and container decodes exactly as msgspec decodes it (msgspec does
  the parsing; this module only rewrites the rare literals above and measures depth, both at
  C speed with ``bytes`` methods and regular expressions, never a Python loop per character).

Errors are :class:`msgspec.DecodeError` (a ``ValueError``), so a caller catching msgspec's
error needs no change. This is the one JSON reader for text that a client sends or a store
holds: ``apply_update_ops_json``, ``iii-core apply``, ``iii-core call``, ``POST /call`` and
the stores' readers should all call :func:`loads`. Pure: no I/O, no state.
"""

from __future__ import annotations

import re
from typing import Any, Final

import msgspec

from iii_core._serde import I64_MIN, U64_MAX

__all__ = ["MAX_DEPTH", "loads"]

MAX_DEPTH: Final = 128
"""serde_json's ``remaining_depth``: a document whose containers nest this deep is refused."""

_decoder: Final = msgspec.json.Decoder()

# A string literal, or an integer literal (not part of a float) that serde_json reads as a
# float: `-0`, or 19 digits or more (u64::MAX has 20; 19 may be below i64::MIN). Strings are
# matched whole so that the scan never looks inside one; the text is valid JSON when used.
_STRING: Final = rb'"(?:[^"\\]|\\.)*+"'
_NUMBER_RULES: Final = re.compile(_STRING + rb"|(?<![\d.eE+-])(-0|-?\d{19,})(?![\d.eE])", re.DOTALL)
# Cheap tests for "maybe": a literal-prefixed pattern (re searches for its prefix at C speed)
# and 19 zeros in the text with every digit turned into a zero (a plain substring search).
_MINUS_ZERO: Final = re.compile(rb"-0(?![\d.eE])")
_DIGITS_AS_ZERO: Final = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN: Final = b"0" * 19
_STRINGS: Final = re.compile(_STRING, re.DOTALL)
_NOT_BRACKETS: Final = bytes(set(range(256)) - set(b"[]{}"))
_OPEN_CLOSE: Final = bytes.maketrans(b"{}", b"[]")


def _depth_over_limit(data: bytes, max_depth: int) -> bool:
    """Whether containers nest ``max_depth`` deep or more (``data`` is ``2 * max_depth`` bytes
    or longer: nesting that deep takes ``max_depth`` openers and as many closers)."""
    if data.count(b"[") + data.count(b"{") < max_depth:
        return False
    brackets = _STRINGS.sub(b"", data).translate(_OPEN_CLOSE, _NOT_BRACKETS)
    # Each pass removes exactly the innermost level (replace does not rescan its output).
    for _ in range(max_depth - 1):
        if not brackets:
            return False
        brackets = brackets.replace(b"[]", b"")
    return bool(brackets)


def _as_bytes(data: bytes | bytearray | memoryview | str) -> bytes:
    if isinstance(data, str):
        try:
            return data.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise msgspec.DecodeError(f"JSON text is not valid UTF-8: {exc}") from None
    return bytes(data)


def _as_serde_reads(match: re.Match[bytes]) -> bytes:
    literal = match.group()
    if match.group(1) is None:
        return literal  # a string
    if literal == b"-0":
        return b"-0.0"
    return literal if I64_MIN <= int(literal) <= U64_MAX else literal + b".0"


def loads(data: bytes | bytearray | memoryview | str, *, max_depth: int | None = MAX_DEPTH) -> Any:
    """Decode one JSON document with serde_json's number rules and depth bound.

    ``max_depth=None`` keeps the number rules but not serde_json's depth bound: for readers whose
    caller bounds the depth itself (a store call checks its payload's depth and answers with the
    engine's message) and for stored values, which a store call may have made up to an update's
    path bound deeper than a request can be; msgspec's own limit (``RecursionError``) remains."""
    # Every test before the decode is a length or a C-speed search: this runs once per line of
    # `iii-core apply` and per request, and nearly every text has none of the rare literals.
    if type(data) is not bytes:
        data = _as_bytes(data)
    if max_depth is not None and len(data) >= 2 * max_depth and _depth_over_limit(data, max_depth):
        raise msgspec.DecodeError(
            f"recursion limit exceeded: containers nest {max_depth} deep or more"
        )
    value = _decoder.decode(data)
    # `find`, not `in`: `needle in bytes` first tries the needle as an int and clears the
    # TypeError, which costs more than the search itself.
    if _MINUS_ZERO.search(data) is None and (
        len(data) < len(_LONG_DIGIT_RUN)
        or data.translate(_DIGITS_AS_ZERO).find(_LONG_DIGIT_RUN) < 0
    ):
        return value
    return _decoder.decode(_NUMBER_RULES.sub(_as_serde_reads, data))
