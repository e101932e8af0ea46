"""``set``: one first-level key (or the root with ``""``) takes ``value``; a missing ``value``
is ``null``. The value is never validated (no depth or key limits)."""

from __future__ import annotations

from typing import Any

from msgspec import UNSET

from iii_core.update._batch import Batch
from iii_core.update._fields import ABSENT, string_path
from iii_core.update._ops._first_level import key_problem
from iii_core.update._paths import ALWAYS_SHORT, PROTO_POLLUTION_KEYS

__all__ = ["apply", "decode_struct", "decode_wire"]


def decode_wire(index: int, op: dict[str, Any]) -> tuple[Any, str, Any]:
    path = op.get("path", ABSENT)
    if type(path) is not str:
        path = string_path(index, path)
    return (apply, path, op.get("value"))


def decode_struct(index: int, op: Any) -> tuple[Any, str, Any]:
    value = op.value
    return (apply, string_path(index, op.path), None if value is UNSET else value)


def apply(batch: Batch, current: Any, index: int, path: str, value: Any) -> Any:
    if not path:
        batch.missing = False
        return value
    if len(path) > ALWAYS_SHORT or path in PROTO_POLLUTION_KEYS or type(current) is not dict:
        problem = key_problem("set", path, current)
        if problem is not None:
            batch.fail(index, *problem)
            return current
    owned = batch.owned
    if id(current) not in owned:
        current = current.copy()
        owned[id(current)] = current
    current[path] = value
    batch.missing = False
    return current
