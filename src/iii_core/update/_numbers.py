"""The engine's number arithmetic for ``increment`` and ``decrement`` (serde_json kinds).

Rules: serde_json numbers are PosInt (u64), NegInt (i64 < 0) or Float (f64). A Python ``int``
inside ``[-2**63, 2**64 - 1]`` is an integer kind; one outside that range is what serde_json
would have parsed as a Float, so it takes the float path. Floats stay floats even when
integral. ``None`` means the engine's ``not_number`` (overflow or a NegInt that left i64).
Nothing here performs I/O.
"""

from __future__ import annotations

from iii_core._serde import I64_MAX, I64_MIN, U64_MAX

__all__ = ["add"]


def add(value: int | float, delta: int) -> int | float | None:
    """``value + delta`` with the engine's kinds: i64, then u64 for non-negative integers,
    then f64; ``None`` when the engine reports overflow.

    ``decrement`` passes ``-by``: the engine's ``checked_sub(by)`` and ``checked_add(|by|)``
    are the same exact integer range checks on ``value - by``.
    """
    if type(value) is int and I64_MIN <= value <= U64_MAX:
        result = value + delta
        if I64_MIN <= value <= I64_MAX and I64_MIN <= result <= I64_MAX:
            return result
        if value >= 0:
            return result if 0 <= result <= U64_MAX else None
        return None
    try:
        return float(value) + float(delta)
    except OverflowError:
        return None
