"""Strict comparison of Python values built from dicts, lists and tuples.

``same_python`` compares containers by exact type and content, and leaves by identity or, for
strings, equality; so a tuple is not a list, ``True`` is not ``1``, and a NaN leaf that was
passed through unchanged compares equal to itself. It walks with an explicit stack.
"""

from __future__ import annotations

from typing import Any

CONTAINERS = (dict, list, tuple)


def same_python(a: Any, b: Any) -> bool:
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if type(x) is not type(y):
            return False
        if type(x) is dict:
            if list(x) != list(y):
                return False
            stack.extend((x[k], y[k]) for k in x)
        elif type(x) in (list, tuple):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif not (x is y or (type(x) is str and x == y)):
            return False
    return True


def mutable_container_ids(value: Any) -> set[int]:
    """The ids of every dict and list reachable from ``value`` (cycles allowed)."""
    seen: set[int] = set()
    mutable: set[int] = set()
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, CONTAINERS) and id(node) not in seen:
            seen.add(id(node))
            if isinstance(node, dict | list):
                mutable.add(id(node))
            stack.extend(node.values() if isinstance(node, dict) else node)
    return mutable
