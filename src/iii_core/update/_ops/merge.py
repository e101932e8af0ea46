"""``merge``: a shallow merge of an object ``value`` at the root or at a path of literal
segments (a string is one first-level key, a list is nested), creating the path.

Rules: the path is validated first, then the value (an object of at most 1024 top-level keys,
no sink among its top-level keys, nesting depth at most 16; nested keys are not checked, as in
the engine). A root merge into a non-object is a silent no-op; a path merge silently replaces a
non-object root, and any non-object step, with ``{}``. ``null`` values are stored, not deleted
(this is not RFC 7396). Pure, no I/O.
"""

from __future__ import annotations

from typing import Any

from iii_core.update._batch import Batch
from iii_core.update._fields import ABSENT, merge_path, required_value
from iii_core.update._paths import (
    ALWAYS_SHORT,
    PROTO_POLLUTION_KEYS,
    check_key,
    check_segments,
)
from iii_core.update._values import check_merge_value

__all__ = ["apply", "decode_struct", "decode_wire"]


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


def apply(batch: Batch, current: Any, index: int, path: Any, value: Any) -> Any:
    # A one-key path (a non-empty string) is the common case and costs no call.
    if type(path) is str and path:
        problem = (
            check_key(path) if len(path) > ALWAYS_SHORT or path in PROTO_POLLUTION_KEYS else None
        )
    elif path:
        problem = check_segments(path)  # a decoded list path
    else:
        problem = None  # None, "" and [] are the root
    if problem is None:
        problem = check_merge_value(value)
    if problem is not None:
        batch.fail(index, f"merge.{problem[0]}", problem[1])
        return current
    batch.missing = False
    if not path:
        # A root merge into a non-object is a silent no-op in the engine.
        if type(current) is dict and value:
            current = batch.own(current)
            current.update(value)
        return current
    # A path merge silently replaces a non-object root, and non-object steps, with `{}`.
    current, target = batch.create_path(current, (path,) if type(path) is str else path)
    target.update(value)
    return current
