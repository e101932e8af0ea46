"""The op table: one entry per op kind, built from the generated ``UpdateOp`` union.

Rules: the schema is the list of ops. Each member of the generated union is one entry
``(wire name, generated Struct, decode_wire, decode_struct, apply)``, its functions taken from
the module of :mod:`iii_core.update._ops` named by the Struct's tag, in the union's order
(which is also the order serde lists the variants in its "unknown variant" message). A union
member without its module fails at import, so the table cannot silently lack an op. Adding an
op is therefore the schema, the generated code and one op module; nothing here changes. Pure,
no I/O after import.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Final, NamedTuple, get_args

from iii_core._generated.stream import UpdateOp

__all__ = ["BY_APPLY", "BY_NAME", "BY_STRUCT", "OPS", "VARIANTS", "DecodedOp", "OpKind"]

# (the op's apply function, its path as decoded, its value or `by`)
DecodedOp = tuple[Callable[..., Any], Any, Any]


class OpKind(NamedTuple):
    name: str
    struct: type[Any]
    decode_wire: Callable[[int, dict[str, Any]], DecodedOp]
    decode_struct: Callable[[int, Any], DecodedOp]
    apply: Callable[..., Any]
    # The Struct field a decoded op's argument came from (`value`, `by`), if any.
    argument_field: str | None


def _op_kind(struct: type[Any]) -> OpKind:
    name: str = struct.__struct_config__.tag
    module = importlib.import_module(f"{__package__}._ops.{name}")
    others = [field for field in struct.__struct_fields__ if field != "path"]
    return OpKind(
        name,
        struct,
        module.decode_wire,
        module.decode_struct,
        module.apply,
        others[0] if others else None,
    )


OPS: Final = tuple(_op_kind(struct) for struct in get_args(get_args(UpdateOp)[0]))
BY_NAME: Final = {kind.name: kind.decode_wire for kind in OPS}
BY_STRUCT: Final = {kind.struct: kind.decode_struct for kind in OPS}
BY_APPLY: Final = {kind.apply: kind for kind in OPS}
VARIANTS: Final = ", ".join(f"`{kind.name}`" for kind in OPS)
