"""Merge value validation (the engine's ``validate_merge_value``) and JSON nesting depth.

Rules: the depth is computed with an explicit stack, never recursion, so a value nested
100,000 deep costs time proportional to its size and cannot raise ``RecursionError``; a flat
value (no container among its values, the common case) is depth 1 without building a stack.
Nothing here performs I/O.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["MAX_VALUE_DEPTH", "MAX_VALUE_KEYS", "check_merge_value", "json_depth"]

MAX_VALUE_DEPTH: Final = 16
MAX_VALUE_KEYS: Final = 1024
# Checked in this order because the engine walks a sorted map and reports the first sink.
_SINKS_SORTED: Final = ("__proto__", "constructor", "prototype")


def json_depth(value: Any) -> int:
    """Containers count 1 plus their deepest child (an empty one counts 1); scalars count 0."""
    kind = type(value)
    if kind is not dict and kind is not list:
        return 0
    deepest = 1
    stack: list[tuple[Any, int]] = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        node, level = pop()
        deepest = max(deepest, level)
        child_level = level + 1
        for child in node.values() if type(node) is dict else node:
            child_kind = type(child)
            if child_kind is dict or child_kind is list:
                if child:
                    push((child, child_level))
                elif child_level > deepest:
                    deepest = child_level
    return deepest


def check_merge_value(value: Any) -> tuple[str, str] | None:
    """``(code suffix, message)`` for a merge value the engine refuses, else ``None``."""
    if type(value) is not dict:
        return ("value.not_an_object", "Merge value must be a JSON object")
    count = len(value)
    if count > MAX_VALUE_KEYS:
        return (
            "value.too_many_keys",
            f"Merge value has {count} top-level keys, exceeds maximum of {MAX_VALUE_KEYS}",
        )
    if "__proto__" in value or "constructor" in value or "prototype" in value:
        sink = next(sink for sink in _SINKS_SORTED if sink in value)
        return (
            "value.proto_polluted",
            f'Merge value top-level key "{sink}" is a prototype-pollution sink',
        )
    for child in value.values():
        kind = type(child)
        if kind is dict or kind is list:
            break
    else:
        return None  # flat: depth 1
    depth = json_depth(value)
    if depth > MAX_VALUE_DEPTH:
        return (
            "value.too_deep",
            f"Merge value JSON nesting depth {depth} exceeds maximum of {MAX_VALUE_DEPTH}",
        )
    return None
