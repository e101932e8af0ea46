"""The checks shared by the ops that take one first-level key (set, increment, decrement,
remove): the key's bounds, then an object root.

Rules: called only for a non-empty key, and only when the inline test
``len(path) > ALWAYS_SHORT or path in PROTO_POLLUTION_KEYS or type(current) is not dict``
says there may be a problem, so the common case costs no call. Pure, no I/O.
"""

from __future__ import annotations

from typing import Any

from iii_core.update._batch import type_name
from iii_core.update._paths import check_key

__all__ = ["key_problem"]


def key_problem(name: str, path: str, current: Any) -> tuple[str, str] | None:
    """``(code, message)`` for an op ``name`` at the first-level key ``path``, or ``None``."""
    problem = check_key(path)
    if problem is not None:
        return (f"{name}.{problem[0]}", problem[1])
    if type(current) is not dict:
        return (
            f"{name}.target_not_object",
            f"Cannot {name} at path '{path}': target is {type_name(current)}, expected object.",
        )
    return None
