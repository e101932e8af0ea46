"""Test helpers for JSON values: strict equality (number kinds matter) and snapshots.

Both walk with an explicit stack, so they work on values nested far deeper than Python's
recursion limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any


def same_json(a: Any, b: Any, *, wildcard: Callable[[Any, Any], bool | None] | None = None) -> bool:
    """JSON equality where ``3`` and ``3.0`` differ and ``True`` is not ``1``.

    ``wildcard(x, y)``, when given, decides a pair of nodes by itself by returning a bool (a
    placeholder in an expected value), or returns ``None`` to compare them normally.
    """
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if wildcard is not None:
            decided = wildcard(x, y)
            if decided is not None:
                if not decided:
                    return False
                continue
        if type(x) is not type(y):
            return False
        if type(x) is dict:
            if x.keys() != y.keys():
                return False
            stack.extend((x[k], y[k]) for k in x)
        elif type(x) is list:
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif type(x) is float and math.isnan(x):
            if not math.isnan(y):
                return False
        elif x != y:
            return False
    return True


def snapshot(value: Any) -> Any:
    """A deep structural copy that shares nothing mutable with ``value``."""
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while stack:
        node, parent, key = stack.pop()
        if type(node) is dict:
            copy_d: dict[str, Any] = {}
            parent[key] = copy_d
            for k, v in node.items():
                copy_d[k] = None
                stack.append((v, copy_d, k))
        elif type(node) is list:
            copy_l: list[Any] = [None] * len(node)
            parent[key] = copy_l
            stack.extend((v, copy_l, i) for i, v in enumerate(node))
        else:
            parent[key] = node
    return root[0]
