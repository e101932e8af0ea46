"""JSON equality as the engine's ``serde_json::Value`` compares values (metadata filters).

Rules: the kinds must match: ``true`` is not ``1`` and ``1`` is not ``1.0``; objects compare
by key set and values (key order does not matter), arrays element by element. An ``int``
outside ``[-2**63, 2**64 - 1]`` is what serde_json would have parsed as a float, so it compares
as one. Iterative, never recursive: no input raises ``RecursionError``. Pure, no I/O.
"""

from __future__ import annotations

import math
from typing import Any

from iii_core._serde import I64_MIN, U64_MAX

__all__ = ["json_equal"]


def _number(value: int | float) -> int | float:
    if type(value) is float or I64_MIN <= value <= U64_MAX:
        return value
    try:
        return float(value)
    except OverflowError:
        return math.copysign(math.inf, value)


def _kind(value: Any) -> type:
    kind = type(value)
    if kind is int and not I64_MIN <= value <= U64_MAX:
        return float
    return kind


def json_equal(a: Any, b: Any) -> bool:
    """Whether two JSON values are equal under serde_json's ``Value`` equality."""
    stack: list[tuple[Any, Any]] = [(a, b)]
    while stack:
        x, y = stack.pop()
        kind = _kind(x)
        if kind is not _kind(y):
            return False
        if kind is dict:
            if x.keys() != y.keys():
                return False
            stack.extend((x[key], y[key]) for key in x)
        elif kind is list:
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif kind is int or kind is float:
            if _number(x) != _number(y):
                return False
        elif x != y:
            return False
    return True
