"""``increment`` and ``decrement``: one rule with a sign, built once for each op.

Rules: ``by`` is an i64; a missing key (or a missing root) takes ``by`` (``-by`` for a
decrement, which is u64 ``2**63`` for ``by = i64::MIN``); an existing number follows the
engine's kinds (:func:`iii_core.update._numbers.add`); anything else, ``null`` included, is
``<op>.not_number``, as is an overflow ("got number"). Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from iii_core._serde import I64_MAX, I64_MIN
from iii_core.update._batch import Batch, type_name
from iii_core.update._fields import ABSENT, i64, string_path
from iii_core.update._numbers import add
from iii_core.update._ops._first_level import key_problem
from iii_core.update._paths import ALWAYS_SHORT, PROTO_POLLUTION_KEYS

__all__ = ["counter_op"]

_NOT_THERE: Final[Any] = object()

Decoded = tuple[Any, str, int]


def counter_op(
    name: str, sign: int
) -> tuple[
    Callable[[int, dict[str, Any]], Decoded],
    Callable[[int, Any], Decoded],
    Callable[[Batch, Any, int, str, int], Any],
]:
    """``(decode_wire, decode_struct, apply)`` of the op ``name`` adding ``sign * by``."""

    def decode_wire(index: int, op: dict[str, Any]) -> Decoded:
        path = op.get("path", ABSENT)
        by = op.get("by", ABSENT)
        if type(path) is not str:
            path = string_path(index, path)
        if type(by) is not int or not I64_MIN <= by <= I64_MAX:
            by = i64(index, by)
        return (apply, path, by)

    def decode_struct(index: int, op: Any) -> Decoded:
        return (apply, string_path(index, op.path), i64(index, op.by))

    def apply(batch: Batch, current: Any, index: int, path: str, by: int) -> Any:
        delta = by if sign > 0 else -by
        if not path:
            if batch.missing:
                batch.missing = False
                return delta
            target = current
        else:
            if (
                len(path) > ALWAYS_SHORT
                or path in PROTO_POLLUTION_KEYS
                or type(current) is not dict
            ):
                problem = key_problem(name, path, current)
                if problem is not None:
                    batch.fail(index, *problem)
                    return current
            target = current.get(path, _NOT_THERE)
            if target is _NOT_THERE:
                owned = batch.owned
                if id(current) not in owned:
                    current = current.copy()
                    owned[id(current)] = current
                current[path] = delta
                batch.missing = False
                return current
        kind = type(target)
        if not (
            kind is int
            and I64_MIN <= target <= I64_MAX
            and I64_MIN <= (result := target + delta) <= I64_MAX
        ):
            result = add(target, delta) if kind is int or kind is float else None
            if result is None:
                batch.fail(
                    index,
                    f"{name}.not_number",
                    f"Expected number at path '{path or 'root'}', got {type_name(target)}.",
                )
                return current
        batch.missing = False
        if not path:
            return result
        owned = batch.owned
        if id(current) not in owned:
            current = current.copy()
            owned[id(current)] = current
        current[path] = result
        return current

    return decode_wire, decode_struct, apply
