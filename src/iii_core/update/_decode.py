"""Decoding of op lists (wire dicts or generated Structs) into one internal form.

Rules: this is the engine's serde layer, done once for both input forms so that they cannot
disagree. Anything serde would refuse raises :class:`InvalidOps` before any op is applied, as
the engine fails the whole call; anything serde accepts decodes, even if the op will then fail
with a per-op error (a non-object merge value, a bad path segment). Unknown fields are ignored.
Nothing here performs I/O or copies op values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from msgspec import UNSET

from iii_core._generated.stream import (
    UpdateAppend,
    UpdateDecrement,
    UpdateIncrement,
    UpdateMerge,
    UpdateRemove,
    UpdateSet,
)
from iii_core.update._errors import InvalidOps

__all__ = [
    "APPEND",
    "DECREMENT",
    "INCREMENT",
    "MERGE",
    "OP_NAMES",
    "REMOVE",
    "SET",
    "DecodedOp",
    "decode_ops",
]

SET: Final = 0
MERGE: Final = 1
INCREMENT: Final = 2
DECREMENT: Final = 3
APPEND: Final = 4
REMOVE: Final = 5

# Index = kind; also the order serde lists the variants in its "unknown variant" message.
OP_NAMES: Final = ("set", "merge", "increment", "decrement", "append", "remove")
_KIND_BY_NAME: Final = {name: kind for kind, name in enumerate(OP_NAMES)}
_KIND_BY_STRUCT: Final[dict[type, int]] = {
    UpdateSet: SET,
    UpdateMerge: MERGE,
    UpdateIncrement: INCREMENT,
    UpdateDecrement: DECREMENT,
    UpdateAppend: APPEND,
    UpdateRemove: REMOVE,
}
_VARIANTS: Final = ", ".join(f"`{name}`" for name in OP_NAMES)

I64_MIN: Final = -(2**63)
I64_MAX: Final = 2**63 - 1

# (kind, path, argument): path is a str for set/increment/decrement/remove and a raw MergePath
# (str, list of str, or None) for merge/append; the argument is the value, or `by`.
DecodedOp = tuple[int, Any, Any]

_ABSENT: Final[Any] = object()


def _unexpected(value: Any) -> str:
    """serde's description of an unexpected JSON value."""
    if value is None:
        return "null"
    kind = type(value)
    if kind is bool:
        return f"boolean `{'true' if value else 'false'}`"
    if kind is int:
        return f"integer `{value}`"
    if kind is float:
        return f"floating point `{value!r}`"
    if kind is str:
        shown = value if len(value) <= 64 else value[:64] + "..."
        return f'string "{shown}"'
    if kind is list or kind is tuple:
        return "sequence"
    if kind is dict:
        return "map"
    return f"value of Python type {kind.__name__}"


def _string_path(index: int, path: Any) -> str:
    if path is _ABSENT:
        raise InvalidOps(index, "path", "missing field `path`")
    if type(path) is not str:
        raise InvalidOps(index, "path", f"invalid type: {_unexpected(path)}, expected a string")
    return path


def _merge_path(index: int, path: Any) -> Any:
    if path is _ABSENT or path is None or path is UNSET:
        return None
    if type(path) is str:
        return path
    if type(path) is list and all(type(segment) is str for segment in path):
        return path
    raise InvalidOps(index, "path", "data did not match any variant of untagged enum MergePath")


def _by(index: int, by: Any) -> int:
    if by is _ABSENT:
        raise InvalidOps(index, "by", "missing field `by`")
    if type(by) is not int:
        raise InvalidOps(index, "by", f"invalid type: {_unexpected(by)}, expected i64")
    if not I64_MIN <= by <= I64_MAX:
        raise InvalidOps(index, "by", f"invalid value: integer `{by}`, expected i64")
    return by


def _required_value(index: int, value: Any) -> Any:
    if value is _ABSENT or value is UNSET:
        raise InvalidOps(index, "value", "missing field `value`")
    return value


def _decode_dict(index: int, op: dict[str, Any]) -> DecodedOp:
    name = op.get("type", _ABSENT)
    if name is _ABSENT:
        raise InvalidOps(index, "type", "missing field `type`")
    if type(name) is not str:
        raise InvalidOps(
            index, "type", f"invalid type: {_unexpected(name)}, expected variant identifier"
        )
    kind = _KIND_BY_NAME.get(name)
    if kind is None:
        raise InvalidOps(index, "type", f"unknown variant `{name}`, expected one of {_VARIANTS}")
    get = op.get
    if kind == SET:
        value = get("value")
        return (SET, _string_path(index, get("path", _ABSENT)), value)
    if kind in (MERGE, APPEND):
        path = _merge_path(index, get("path", _ABSENT))
        return (kind, path, _required_value(index, get("value", _ABSENT)))
    if kind == REMOVE:
        return (REMOVE, _string_path(index, get("path", _ABSENT)), None)
    path = _string_path(index, get("path", _ABSENT))
    return (kind, path, _by(index, get("by", _ABSENT)))


def _decode_struct(index: int, kind: int, op: Any) -> DecodedOp:
    # Struct constructors do not type-check their arguments, so the same checks run here.
    if kind == SET:
        value = op.value
        return (SET, _string_path(index, op.path), None if value is UNSET else value)
    if kind in (MERGE, APPEND):
        return (kind, _merge_path(index, op.path), _required_value(index, op.value))
    if kind == REMOVE:
        return (REMOVE, _string_path(index, op.path), None)
    return (kind, _string_path(index, op.path), _by(index, op.by))


def decode_ops(ops: Sequence[Any]) -> list[DecodedOp]:
    """Decode every op, or raise :class:`InvalidOps` for the first one serde would refuse."""
    if isinstance(ops, (str, bytes, bytearray, dict)) or not isinstance(ops, Sequence):
        raise InvalidOps(None, None, f"invalid type: {_unexpected(ops)}, expected a sequence")
    decoded: list[DecodedOp] = []
    append = decoded.append
    for index, op in enumerate(ops):
        if type(op) is dict:
            append(_decode_dict(index, op))
            continue
        kind = _KIND_BY_STRUCT.get(type(op))
        if kind is None:
            raise InvalidOps(
                index,
                None,
                f"invalid type: {_unexpected(op)}, expected internally tagged enum UpdateOp",
            )
        append(_decode_struct(index, kind, op))
    return decoded
