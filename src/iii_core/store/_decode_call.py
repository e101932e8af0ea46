"""``decode_call``: a function id and its JSON payload to a typed request, the engine's serde way.

Rules: this is the engine's input layer (``function-macros`` + serde derive + ``serde_json``'s
``Value`` deserializer), reproduced message for message, so a bad payload fails here with the
engine's ``deserialization_error`` text and the store is never reached. Pure: no I/O, the payload
is never mutated (decoded requests share its values), nothing is walked recursively except the
ops, which the update engine's own decoder checks.

What serde does, and therefore what this does:
- an object payload is visited in sorted key order (``serde_json`` maps are ``BTreeMap``s): the
  first wrongly-typed known field fails the call; then the first missing required field, in
  declaration order; unknown keys are ignored;
- an array payload is read positionally in declaration order (serde derives ``visit_seq``):
  too few elements is ``invalid length``, too many is ``expected fewer elements in array``;
- any other payload (``null`` included) is ``invalid type: ..., expected struct <Rust name>``.

The fields, their kinds, order and aliases come from the one function table
(:mod:`iii_core.store._functions`); this module only knows serde's rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal, overload

import msgspec

from iii_core._generated.state import (
    StateDeleteInput,
    StateGetInput,
    StateListGroupsInput,
    StateListInput,
    StateSetInput,
    StateUpdateInput,
)
from iii_core._generated.stream import (
    StreamDeleteInput,
    StreamGetInput,
    StreamListGroupsInput,
    StreamListInput,
    StreamSendInput,
    StreamSetInput,
    StreamUpdateInput,
)
from iii_core._serde import unexpected
from iii_core.store._errors import DESERIALIZATION_ERROR, FUNCTION_NOT_FOUND, StoreCallError
from iii_core.store._functions import FUNCTIONS, FieldKind, Function
from iii_core.store._requests import Request, StreamListAllInput
from iii_core.update import DecodedOps, InvalidOps, decode_update_ops

__all__ = ["decode_call", "decode_request"]


class _Reject(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Spec:
    """How one function's input decodes: serde's name for it, its fields in declaration order
    as ``(attribute, kind)``, and every accepted wire key (aliases included)."""

    __slots__ = ("aliases", "expecting", "fields", "lookup", "rust_name", "struct", "wired")

    def __init__(self, function: Function[Any, Any]) -> None:
        self.struct = function.input
        self.rust_name = function.rust_name
        self.fields = tuple((f.name, f.kind) for f in function.fields)
        self.wired = tuple((f.name, f.wire, f.kind) for f in function.fields)
        self.aliases = frozenset(function.aliases)
        self.lookup: dict[str, tuple[str, FieldKind]] = {
            f.wire: (f.name, f.kind) for f in function.fields
        }
        by_wire = {f.wire: f for f in function.fields}
        for alias, target in function.aliases.items():
            self.lookup[alias] = (by_wire[target].name, by_wire[target].kind)
        count = len(self.fields)
        self.expecting = f"struct {self.rust_name} with {count} element{'' if count == 1 else 's'}"


_SPECS: Final[dict[str, _Spec]] = {
    function_id: _Spec(function) for function_id, function in FUNCTIONS.items()
}


def _field(kind: FieldKind, value: Any) -> Any:
    if kind is FieldKind.VALUE:
        return value
    if kind is FieldKind.OPS:
        try:
            return decode_update_ops(value)
        except InvalidOps as exc:
            raise _Reject(exc.reason) from None
    if type(value) is str or (kind is FieldKind.OPTIONAL_STRING and value is None):
        return value
    raise _Reject(f"invalid type: {unexpected(value)}, expected a string")


_ABSENT: Final = object()


def _from_map(spec: _Spec, payload: Mapping[Any, Any]) -> dict[str, Any]:
    """The fields of an object payload: looked up by their wire names when no alias is used
    and every field is good (the common case; no other key can change the outcome then);
    otherwise, for the engine's error, visited as serde does (:func:`_from_map_as_serde`)."""
    if spec.aliases.isdisjoint(payload):
        values: dict[str, Any] = {}
        try:
            for name, wire, kind in spec.wired:
                value = payload.get(wire, _ABSENT)
                if type(value) is str and kind is not FieldKind.OPS:  # every other kind takes it
                    values[name] = value
                elif value is not _ABSENT:
                    values[name] = _field(kind, value)
                elif kind is FieldKind.OPTIONAL_STRING:
                    values[name] = None
                else:
                    break
            else:
                return values
        except _Reject:
            pass
    return _from_map_as_serde(spec, payload)


def _from_map_as_serde(spec: _Spec, payload: Mapping[Any, Any]) -> dict[str, Any]:
    lookup = spec.lookup
    values: dict[str, Any] = {}
    for key in sorted(key for key in payload if type(key) is str and key in lookup):
        name, kind = lookup[key]
        if name in values:
            raise _Reject(f"duplicate field `{name}`")
        values[name] = _field(kind, payload[key])
    for name, kind in spec.fields:
        if name not in values:
            if kind is not FieldKind.OPTIONAL_STRING:
                raise _Reject(f"missing field `{name}`")
            values[name] = None
    return values


def _from_seq(spec: _Spec, payload: Sequence[Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for index, (name, kind) in enumerate(spec.fields):
        if index >= len(payload):
            raise _Reject(f"invalid length {index}, expected {spec.expecting}")
        values[name] = _field(kind, payload[index])
    if len(payload) > len(spec.fields):
        raise _Reject(f"invalid length {len(payload)}, expected fewer elements in array")
    return values


@overload
def decode_call(function_id: Literal["stream::set"], payload: Any) -> StreamSetInput: ...
@overload
def decode_call(function_id: Literal["stream::get"], payload: Any) -> StreamGetInput: ...
@overload
def decode_call(function_id: Literal["stream::delete"], payload: Any) -> StreamDeleteInput: ...
@overload
def decode_call(function_id: Literal["stream::update"], payload: Any) -> StreamUpdateInput: ...
@overload
def decode_call(function_id: Literal["stream::list"], payload: Any) -> StreamListInput: ...
@overload
def decode_call(
    function_id: Literal["stream::list_groups"], payload: Any
) -> StreamListGroupsInput: ...
@overload
def decode_call(function_id: Literal["stream::list_all"], payload: Any) -> StreamListAllInput: ...
@overload
def decode_call(function_id: Literal["stream::send"], payload: Any) -> StreamSendInput: ...
@overload
def decode_call(function_id: Literal["state::set"], payload: Any) -> StateSetInput: ...
@overload
def decode_call(function_id: Literal["state::get"], payload: Any) -> StateGetInput: ...
@overload
def decode_call(function_id: Literal["state::delete"], payload: Any) -> StateDeleteInput: ...
@overload
def decode_call(function_id: Literal["state::update"], payload: Any) -> StateUpdateInput: ...
@overload
def decode_call(function_id: Literal["state::list"], payload: Any) -> StateListInput: ...
@overload
def decode_call(
    function_id: Literal["state::list_groups"], payload: Any
) -> StateListGroupsInput: ...
@overload
def decode_call(function_id: str, payload: Any) -> Request: ...
def decode_call(function_id: str, payload: Any) -> Request:
    """Decode ``payload`` (a JSON value) as the input of ``function_id``.

    Returns the generated input Struct (``StreamSetInput``, ``StateUpdateInput``, ...; ops are
    decoded into the generated op Structs). Raises :class:`StoreCallError` with code
    ``function_not_found`` for an unknown id and ``deserialization_error`` (message
    ``Failed to deserialize input for <id>: <serde reason>``) for a payload the engine refuses.
    ``state::set`` accepts ``data`` as an alias of ``value``.
    """
    request = decode_request(function_id, payload)
    ops = getattr(request, "ops", None)
    if isinstance(ops, DecodedOps):
        return msgspec.structs.replace(request, ops=ops.structs())
    return request


def decode_request(function_id: str, payload: Any) -> Request:
    """:func:`decode_call` for the call flow: the same checks and errors, but an update's
    ``ops`` are left as the update engine's :class:`~iii_core.update.DecodedOps`, which
    ``apply_update_ops`` applies without decoding them again."""
    spec = _SPECS.get(function_id)
    if spec is None:
        raise StoreCallError(FUNCTION_NOT_FOUND, f"Function {function_id} not found")
    try:
        if type(payload) is dict or isinstance(payload, Mapping):  # a dict: no ABC check
            values = _from_map(spec, payload)
        elif isinstance(payload, (list, tuple)):
            values = _from_seq(spec, payload)
        else:
            raise _Reject(f"invalid type: {unexpected(payload)}, expected struct {spec.rust_name}")
    except _Reject as exc:
        raise StoreCallError(
            DESERIALIZATION_ERROR,
            f"Failed to deserialize input for {function_id}: {exc.reason}",
        ) from None
    request: Request = spec.struct(**values)
    return request
