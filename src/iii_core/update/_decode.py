"""Decoding of op lists (wire dicts or generated Structs), once, into :class:`DecodedOps`.

Rules: this is the engine's serde layer, done once for both input forms so that they cannot
disagree. Anything serde would refuse raises :class:`InvalidOps` before any op is applied, as
the engine fails the whole call; anything serde accepts decodes, even if the op will then fail
with a per-op error (a non-object merge value, a bad path segment). Unknown fields are ignored.
Nothing here performs I/O or copies op values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, final

from msgspec import UNSET

from iii_core._generated.stream import UpdateOp
from iii_core._serde import invalid_type
from iii_core.update._errors import InvalidOps
from iii_core.update._fields import ABSENT
from iii_core.update._table import BY_APPLY, BY_NAME, BY_STRUCT, VARIANTS, DecodedOp

__all__ = ["DecodedOps", "bad_op", "check_sequence", "decode_list", "decode_update_ops"]

_NOT_SEQUENCES: Final = (str, bytes, bytearray, dict)


@final
class DecodedOps:
    """An op list the engine has decoded and accepted: pass it to ``apply_update_ops`` to apply
    it without decoding it again. Opaque and immutable; ``len()`` is the number of ops."""

    __slots__ = ("_ops",)

    def __init__(self, ops: list[DecodedOp]) -> None:
        self._ops = ops

    def __len__(self) -> int:
        return len(self._ops)

    def __repr__(self) -> str:
        return f"<DecodedOps: {len(self._ops)} ops>"

    def structs(self) -> list[UpdateOp]:
        """The ops as generated Structs (``UpdateSet``, ...), for callers that need the typed
        form, built from the decoded fields (unknown wire fields are gone)."""
        structs: list[UpdateOp] = []
        for apply, path, argument in self._ops:
            kind = BY_APPLY[apply]
            fields = {"path": UNSET if path is None else path}
            if kind.argument_field is not None:
                fields[kind.argument_field] = argument
            structs.append(kind.struct(**fields))
        return structs


def check_sequence(ops: Any) -> None:
    """serde's refusal of an op list that is not a sequence (a list or tuple passes at once)."""
    kind = type(ops)
    if (
        kind is not list
        and kind is not tuple
        and (isinstance(ops, _NOT_SEQUENCES) or not isinstance(ops, Sequence))
    ):
        raise InvalidOps(None, None, invalid_type(ops, "a sequence"))


def bad_op(index: int, op: Any) -> InvalidOps:
    """serde's refusal of an op whose kind cannot be told (no or an unknown ``type``)."""
    if type(op) is not dict:
        return InvalidOps(index, None, invalid_type(op, "internally tagged enum UpdateOp"))
    name = op.get("type", ABSENT)
    if name is ABSENT:
        return InvalidOps(index, "type", "missing field `type`")
    if type(name) is not str:
        return InvalidOps(index, "type", invalid_type(name, "variant identifier"))
    return InvalidOps(index, "type", f"unknown variant `{name}`, expected one of {VARIANTS}")


def decode_list(ops: Sequence[Any]) -> list[DecodedOp]:
    """Decode every op, or raise :class:`InvalidOps` for the first one serde would refuse."""
    check_sequence(ops)
    decoded: list[DecodedOp] = []
    append = decoded.append
    for index, op in enumerate(ops):
        # The same dispatch as apply_wire's (a dict by its tag, a Struct by its class).
        try:
            decode = BY_NAME[op["type"]] if type(op) is dict else BY_STRUCT[type(op)]
        except (KeyError, TypeError):
            raise bad_op(index, op) from None
        append(decode(index, op))
    return decoded


def decode_update_ops(ops: Sequence[Any] | DecodedOps) -> DecodedOps:
    """Decode ``ops`` (wire dicts and/or generated Structs) once, raising :class:`InvalidOps`
    for the first op the engine would refuse; apply the result with ``apply_update_ops``."""
    if isinstance(ops, DecodedOps):
        return ops
    return DecodedOps(decode_list(ops))
