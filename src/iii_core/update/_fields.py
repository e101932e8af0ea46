"""serde's checks of an op's fields, shared by the op modules' decoders.

Rules: each function either returns the field's decoded value or raises :class:`InvalidOps`
with serde's exact reason, naming the op index and the field. ``ABSENT`` stands for a field
that is not there (``msgspec.UNSET`` on a Struct means the same). Pure, no I/O.
"""

from __future__ import annotations

from typing import Any, Final

from msgspec import UNSET

from iii_core._serde import I64_MAX, I64_MIN, invalid_type
from iii_core.update._errors import InvalidOps

__all__ = ["ABSENT", "i64", "merge_path", "required_value", "string_path"]

ABSENT: Final[Any] = object()


def string_path(index: int, path: Any) -> str:
    """``path: String`` (set, increment, decrement, remove)."""
    if type(path) is str:
        return path
    if path is ABSENT or path is UNSET:
        raise InvalidOps(index, "path", "missing field `path`")
    raise InvalidOps(index, "path", invalid_type(path, "a string"))


def merge_path(index: int, path: Any) -> Any:
    """``path: Option<MergePath>`` (merge, append): ``None``, a string or a list of strings."""
    if type(path) is str:
        return path
    if path is ABSENT or path is None or path is UNSET:
        return None
    if type(path) is list:
        for segment in path:
            if type(segment) is not str:
                break
        else:
            return path
    raise InvalidOps(index, "path", "data did not match any variant of untagged enum MergePath")


def i64(index: int, by: Any) -> int:
    """``by: i64``. A Python int beyond u64 is described as the float serde_json reads."""
    if type(by) is int and I64_MIN <= by <= I64_MAX:
        return by
    if by is ABSENT or by is UNSET:
        raise InvalidOps(index, "by", "missing field `by`")
    if type(by) is int and 0 < by <= 2 * I64_MAX + 1:
        raise InvalidOps(index, "by", f"invalid value: integer `{by}`, expected i64")
    raise InvalidOps(index, "by", invalid_type(by, "i64"))


def required_value(index: int, value: Any) -> Any:
    """``value: Value`` (merge, append): required, ``null`` accepted."""
    if value is ABSENT or value is UNSET:
        raise InvalidOps(index, "value", "missing field `value`")
    return value
