"""The engine's ``match("...")`` wildcard, used by ``expose_functions`` and metadata filters.

Rules (the engine's ``WildcardPattern``): ``*`` matches any run of characters, including none;
every other character is literal (no ``?``, no classes, no escapes); the pattern is anchored at
both ends, and a pattern without ``*`` is an exact comparison. The engine scans the fixed parts
left to right, taking each at its first occurrence, which for ``*``-only patterns decides
exactly what an anchored glob decides. Pure, no I/O.
"""

from __future__ import annotations

__all__ = ["wildcard_match"]


def wildcard_match(pattern: str, value: str) -> bool:
    """Whether ``value`` matches the wildcard ``pattern`` (``api::*::read``, ``*::public``)."""
    if pattern == "*":
        return True
    parts = pattern.split("*")
    if len(parts) == 1:
        return pattern == value
    position = 0
    for index, part in enumerate(parts):
        if not part:
            continue
        found = value.find(part, position)
        if found < 0 or (index == 0 and found != 0):
            return False
        position = found + len(part)
    last = parts[-1]
    return not last or value.endswith(last)
