"""``remove``: one first-level key is deleted (a missing key is a silent success); ``""``
sets the root to ``null`` rather than deleting it."""

from __future__ import annotations

from typing import Any

from iii_core.update._batch import Batch
from iii_core.update._fields import ABSENT, string_path
from iii_core.update._ops._first_level import key_problem
from iii_core.update._paths import ALWAYS_SHORT, PROTO_POLLUTION_KEYS

__all__ = ["apply", "decode_struct", "decode_wire"]


def decode_wire(index: int, op: dict[str, Any]) -> tuple[Any, str, None]:
    path = op.get("path", ABSENT)
    if type(path) is not str:
        path = string_path(index, path)
    return (apply, path, None)


def decode_struct(index: int, op: Any) -> tuple[Any, str, None]:
    return (apply, string_path(index, op.path), None)


def apply(batch: Batch, current: Any, index: int, path: str, _: None) -> Any:
    if not path:
        batch.missing = False
        return None
    if len(path) > ALWAYS_SHORT or path in PROTO_POLLUTION_KEYS or type(current) is not dict:
        problem = key_problem("remove", path, current)
        if problem is not None:
            batch.fail(index, *problem)
            return current
    if path in current:
        owned = batch.owned
        if id(current) not in owned:
            current = current.copy()
            owned[id(current)] = current
        del current[path]
    batch.missing = False
    return current
