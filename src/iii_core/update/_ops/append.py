"""``append``: push onto an array, concatenate onto a string, or start one, at the root or at
a path of literal segments (a string is one first-level key, a list is nested).

Rules (the engine's, in its load-bearing order: path, object root, walk, leaf):
- a missing first-level key takes the value itself if it is a string, else ``[value]``;
  a missing nested leaf always takes ``[value]``; a missing root is initialised like a key;
- an existing array gets the value as one element; a string gets a string value appended
  (any other value is ``append.type_mismatch``); ``null`` is initialised like a missing key;
  an object, number or boolean is ``append.type_mismatch``;
- a non-empty path on a non-object root is ``append.target_not_object`` (labelled with the
  bracketed segments); intermediate non-objects are replaced by ``{}``.
The value is never validated. Pure, no I/O.
"""

from __future__ import annotations

from typing import Any, Final

from iii_core._serde import json_type_name
from iii_core.update._batch import Batch, Text, type_name
from iii_core.update._fields import ABSENT, merge_path, required_value
from iii_core.update._paths import (
    ALWAYS_SHORT,
    PROTO_POLLUTION_KEYS,
    check_key,
    check_segments,
)

__all__ = ["apply", "decode_struct", "decode_wire"]

_NOT_THERE: Final[Any] = object()


def decode_wire(index: int, op: dict[str, Any]) -> tuple[Any, Any, Any]:
    path = op.get("path", ABSENT)
    if type(path) is not str:
        path = merge_path(index, path)
    value = op.get("value", ABSENT)
    if value is ABSENT:
        required_value(index, value)
    return (apply, path, value)


def decode_struct(index: int, op: Any) -> tuple[Any, Any, Any]:
    return (apply, merge_path(index, op.path), required_value(index, op.value))


def _initial(batch: Batch, value: Any) -> Any:
    if type(value) is str:
        return value
    fresh = [value]
    batch.owned[id(fresh)] = fresh
    return fresh


def _append_to(batch: Batch, target: Any, value: Any, label: str) -> tuple[Any, str | None]:
    """``(new target, None)`` on success, ``(None, message)`` for ``append.type_mismatch``."""
    kind = type(target)
    if kind is list:
        owned = batch.owned
        if id(target) in owned:
            target.append(value)
            return target, None
        grown = [*target, value]
        owned[id(grown)] = grown
        return grown, None
    if kind is str or kind is Text:
        if type(value) is not str:
            return None, (
                f"Expected string append value at path '{label}', got {json_type_name(value)}."
            )
        if kind is Text:
            target.parts.append(value)
            return target, None
        owned = batch.owned
        if id(target) in owned:
            # The second append to a string of this call: collect the parts from now on.
            return Text([target, value]), None
        joined = target + value
        owned[id(joined)] = joined
        return joined, None
    if target is None:
        return _initial(batch, value), None
    return None, (
        f"Cannot append at path '{label}': target is {type_name(target)}, "
        "expected array, string, null, or missing field."
    )


def apply(batch: Batch, current: Any, index: int, path: Any, value: Any) -> Any:
    # A one-key path (a non-empty string) is the common case and costs no call.
    if type(path) is str and path:
        problem = (
            check_key(path) if len(path) > ALWAYS_SHORT or path in PROTO_POLLUTION_KEYS else None
        )
        segments: list[str] | tuple[str, ...] = (path,)
    elif path:
        segments = path  # a decoded list path
        problem = check_segments(segments)
    else:
        segments = ()  # None, "" and [] are the root
        problem = None
    if problem is not None:
        batch.fail(index, f"append.{problem[0]}", problem[1])
        return current
    if not segments:
        result, mismatch = _append_to(batch, None if batch.missing else current, value, "root")
        if mismatch is not None:
            batch.fail(index, "append.type_mismatch", mismatch)
            return current
        if type(result) is Text and result is not current:
            batch.pending(None, "", result)
        batch.missing = False
        return result
    if type(current) is not dict:
        batch.fail(
            index,
            "append.target_not_object",
            f"Cannot append at path '[{', '.join(segments)}]': target is "
            f"{type_name(current)}, expected object.",
        )
        return current
    batch.missing = False
    leaf = segments[-1]
    if len(segments) == 1:
        parent = current
        existing = parent.get(leaf, _NOT_THERE)
        if existing is _NOT_THERE:
            current = batch.own(current)
            current[leaf] = _initial(batch, value)
            return current
    else:
        current, parent = batch.create_path(current, segments[:-1])
        existing = parent.get(leaf, _NOT_THERE)
        if existing is _NOT_THERE:
            fresh = [value]
            batch.owned[id(fresh)] = fresh
            parent[leaf] = fresh
            return current
    result, mismatch = _append_to(batch, existing, value, leaf)
    if mismatch is not None:
        batch.fail(index, "append.type_mismatch", mismatch)
        return current
    if result is not existing:
        if parent is current:
            current = parent = batch.own(parent)
        parent[leaf] = result
        if type(result) is Text:
            batch.pending(parent, leaf, result)
    return current
