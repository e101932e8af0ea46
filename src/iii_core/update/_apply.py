"""The op loop: each decoded op's apply function in turn, over one :class:`Batch`.

Rules: ops apply in order; a failing op is skipped and reported, later ops still apply;
nothing is rolled back. Ops that were not decoded beforehand are decoded and applied in one
pass: the engine is pure, so applying op ``i`` before op ``i + 1`` is decoded cannot be
observed, and an ``InvalidOps`` raised by a later op simply discards the partial result (the
caller sees the exception and nothing else, as with decoding first). The engine starts a
missing key from ``{}`` and lets only a root increment, decrement or append see it as
missing until some op reaches its apply step. Nothing here performs I/O, reads a clock, or
keeps state between calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from iii_core._generated.stream import UpdateOpError
from iii_core.update._batch import Batch
from iii_core.update._decode import bad_op, check_sequence
from iii_core.update._missing import MISSING
from iii_core.update._table import BY_NAME, BY_STRUCT, DecodedOp

__all__ = ["apply_decoded", "apply_wire"]


def apply_decoded(old: Any, ops: list[DecodedOp]) -> tuple[Any, list[UpdateOpError]]:
    missing = old is MISSING
    batch = Batch(missing)
    current = batch.new_dict() if missing else old
    for index, (apply, path, argument) in enumerate(ops):
        current = apply(batch, current, index, path, argument)
    if batch.texts is not None:
        current = batch.finish(current)
    return current, batch.errors


def apply_wire(old: Any, ops: Sequence[Any]) -> tuple[Any, list[UpdateOpError]]:
    if type(ops) is not list:
        check_sequence(ops)
    missing = old is MISSING
    batch = Batch(missing)
    current = batch.new_dict() if missing else old
    by_name, by_struct = BY_NAME, BY_STRUCT
    for index, op in enumerate(ops):
        # The same dispatch as decode_list's (a dict by its tag, a Struct by its class).
        try:
            decode = by_name[op["type"]] if type(op) is dict else by_struct[type(op)]
        except (KeyError, TypeError):
            raise bad_op(index, op) from None
        apply, path, argument = decode(index, op)
        current = apply(batch, current, index, path, argument)
    if batch.texts is not None:
        current = batch.finish(current)
    return current, batch.errors
