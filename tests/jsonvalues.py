"""Test helpers for JSON values: strict equality (number kinds matter) and snapshots.

Both walk with an explicit stack, so they work on values nested far deeper than Python's
recursion limit.
"""

from __future__ import annotations

import math
from typing import Any


def same_json(a: Any, b: Any) -> bool:
    """JSON equality where ``3`` and ``3.0`` differ and ``True`` is not ``1``."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
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
