"""serde and serde_json facts shared by every package that reproduces the engine's input layer.

Rules: each fact is written once, here: the integer kinds' bounds, the engine's JSON type names,
serde's description of an unexpected value (``invalid type: <unexpected>, expected <what>``)
and Rust's ``Display`` of an ``f64``. A Python ``int`` outside ``[I64_MIN, U64_MAX]`` is what
serde_json would have read as a float, so it is described as one. Pure, no I/O.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Final

__all__ = [
    "I64_MAX",
    "I64_MIN",
    "U64_MAX",
    "invalid_type",
    "json_type_name",
    "rust_float",
    "unexpected",
]

I64_MIN: Final = -(2**63)
I64_MAX: Final = 2**63 - 1
U64_MAX: Final = 2**64 - 1

# serde's Unexpected::Str shows the whole string; a shorter excerpt keeps a hostile 10 MB
# value out of the message (the engine's message is the same up to this length).
_SHOWN_CHARS: Final = 64


def json_type_name(value: Any) -> str:
    """The engine's ``json_type_name``: the JSON type of a value, as used in messages."""
    if value is None:
        return "null"
    kind = type(value)
    if kind is dict:
        return "object"
    if kind is list:
        return "array"
    if kind is str:
        return "string"
    if kind is bool:
        return "boolean"
    if kind is int or kind is float:
        return "number"
    raise TypeError(f"not a JSON value: {kind.__name__}")


def rust_float(value: float) -> str:
    """``format!("{}", value)`` for an ``f64``: the shortest round-trip digits, never an
    exponent (``1e20`` is ``100000000000000000000``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "-0" if text == "0" and str(value).startswith("-") else text


def unexpected(value: Any) -> str:
    """serde's ``Unexpected`` description of a JSON value (``integer `5```, ``map``, ...)."""
    if value is None:
        return "null"
    kind = type(value)
    if kind is bool:
        return f"boolean `{'true' if value else 'false'}`"
    if kind is int:
        if I64_MIN <= value <= U64_MAX:
            return f"integer `{value}`"
        try:
            value = float(value)
        except OverflowError:
            # serde_json refuses such a literal before any type is expected.
            return "number out of range"
        kind = float
    if kind is float:
        # serde's WithDecimalPoint: a finite float always shows a decimal point.
        text = rust_float(value)
        if text.lstrip("-").isdigit():
            text += ".0"
        return f"floating point `{text}`"
    if kind is str:
        shown = value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "..."
        return f'string "{shown}"'
    if kind is list or kind is tuple:
        return "sequence"
    if kind is dict:
        return "map"
    return f"value of Python type {kind.__name__}"


def invalid_type(value: Any, expected: str) -> str:
    """serde's ``invalid type: <unexpected>, expected <expected>``."""
    return f"invalid type: {unexpected(value)}, expected {expected}"
