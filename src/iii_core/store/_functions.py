"""The one table of the store's functions: every ``stream::*`` / ``state::*`` id, its input
Struct, its result type, whether it reads or writes, and how serde decodes its input.

Rules: field names, wire names, kinds and optionality come from the generated input Structs
(``msgspec.inspect``), the field order from the schema (``_serde_order.py``, generated from
``schema/*.json`` by ``codegen/serde_order.py``): nothing here restates a field. What the
schemas do not say is the engine's and is stated once per function: the Rust struct name where
it differs from the schema's title (``state::list`` decodes a ``StateGetGroupInput``) and the
serde aliases (``state::set`` accepts ``data`` for ``value``). A field of a kind this table
does not know fails at import, so a schema change cannot be silently dropped. Pure data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any, Final, Generic, Literal, TypeVar

import msgspec
from msgspec import inspect

from iii_core._generated.state import (
    StateDeleteInput,
    StateGetInput,
    StateListGroupsInput,
    StateListGroupsResult,
    StateListInput,
    StateSetInput,
    StateUpdateInput,
)
from iii_core._generated.stream import (
    StreamDeleteInput,
    StreamDeleteResult,
    StreamGetInput,
    StreamListAllInput,
    StreamListAllResult,
    StreamListGroupsInput,
    StreamListInput,
    StreamSendInput,
    StreamSetInput,
    StreamSetResult,
    StreamUpdateInput,
    StreamUpdateResult,
)
from iii_core.store._serde_order import SERDE_ORDER

__all__ = [
    "FUNCTIONS",
    "STATE_DELETE",
    "STATE_GET",
    "STATE_LIST",
    "STATE_LIST_GROUPS",
    "STATE_SET",
    "STATE_UPDATE",
    "STREAM_DELETE",
    "STREAM_GET",
    "STREAM_LIST",
    "STREAM_LIST_ALL",
    "STREAM_LIST_GROUPS",
    "STREAM_SEND",
    "STREAM_SET",
    "STREAM_UPDATE",
    "Field",
    "FieldKind",
    "Function",
]

In = TypeVar("In", bound=msgspec.Struct)
Out = TypeVar("Out")


class FieldKind(Enum):
    """How serde reads one input field."""

    STRING = "string"  # Rust `String`
    OPTIONAL_STRING = "optional string"  # Rust `Option<String>`: null or absent is None
    VALUE = "value"  # `serde_json::Value`: any JSON, null included, required
    OPS = "ops"  # `Vec<UpdateOp>`: decoded by the update engine


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # the Struct attribute
    wire: str  # the JSON key
    kind: FieldKind


@dataclass(frozen=True, slots=True)
class Function(Generic[In, Out]):
    """One store function. ``result`` is the Python type of its typed method's result."""

    id: str
    input: type[In]
    result: Any
    access: Literal["read", "write"]
    method: str
    rust_name: str
    fields: tuple[Field, ...]
    aliases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def _kind(info: inspect.Type, struct: type[msgspec.Struct], name: str) -> FieldKind:
    while isinstance(info, inspect.Metadata):
        info = info.type
    if isinstance(info, inspect.StrType):
        return FieldKind.STRING
    if isinstance(info, inspect.AnyType):
        return FieldKind.VALUE
    if isinstance(info, inspect.ListType):
        return FieldKind.OPS
    if isinstance(info, inspect.UnionType):
        members = {type(member) for member in info.types}
        if members == {inspect.StrType, inspect.NoneType}:
            return FieldKind.OPTIONAL_STRING
    raise TypeError(f"{struct.__name__}.{name}: a field kind the store table does not know")


def _fields(struct: type[msgspec.Struct]) -> tuple[Field, ...]:
    info = inspect.type_info(struct)
    assert isinstance(info, inspect.StructType)
    by_wire = {f.encode_name: f for f in info.fields}
    order = SERDE_ORDER[struct.__name__]
    if set(order) != set(by_wire):
        raise TypeError(f"{struct.__name__}: the schema and the generated Struct disagree")
    return tuple(
        Field(by_wire[wire].name, wire, _kind(by_wire[wire].type, struct, wire)) for wire in order
    )


def _function(
    function_id: str,
    input_type: type[In],
    result: Any,
    access: Literal["read", "write"],
    *,
    rust_name: str | None = None,
    aliases: Mapping[str, str] | None = None,
) -> Function[In, Any]:
    return Function(
        id=function_id,
        input=input_type,
        result=result,
        access=access,
        method=function_id.replace("::", "_"),
        rust_name=rust_name or input_type.__name__,
        fields=_fields(input_type),
        aliases=MappingProxyType(dict(aliases or {})),
    )


STREAM_SET: Final[Function[StreamSetInput, StreamSetResult]] = _function(
    "stream::set", StreamSetInput, StreamSetResult, "write"
)
STREAM_GET: Final[Function[StreamGetInput, Any]] = _function(
    "stream::get", StreamGetInput, Any, "read"
)
STREAM_UPDATE: Final[Function[StreamUpdateInput, StreamUpdateResult]] = _function(
    "stream::update", StreamUpdateInput, StreamUpdateResult, "write"
)
STREAM_DELETE: Final[Function[StreamDeleteInput, StreamDeleteResult]] = _function(
    "stream::delete", StreamDeleteInput, StreamDeleteResult, "write"
)
STREAM_SEND: Final[Function[StreamSendInput, None]] = _function(
    "stream::send", StreamSendInput, None, "write"
)
STREAM_LIST: Final[Function[StreamListInput, list[Any]]] = _function(
    "stream::list", StreamListInput, list[Any], "read"
)
STREAM_LIST_GROUPS: Final[Function[StreamListGroupsInput, list[str]]] = _function(
    "stream::list_groups", StreamListGroupsInput, list[str], "read"
)
STREAM_LIST_ALL: Final[Function[StreamListAllInput, StreamListAllResult]] = _function(
    "stream::list_all", StreamListAllInput, StreamListAllResult, "read"
)
STATE_SET: Final[Function[StateSetInput, StreamSetResult]] = _function(
    "state::set", StateSetInput, StreamSetResult, "write", aliases={"data": "value"}
)
STATE_GET: Final[Function[StateGetInput, Any]] = _function("state::get", StateGetInput, Any, "read")
STATE_UPDATE: Final[Function[StateUpdateInput, StreamUpdateResult]] = _function(
    "state::update", StateUpdateInput, StreamUpdateResult, "write"
)
STATE_DELETE: Final[Function[StateDeleteInput, Any]] = _function(
    "state::delete", StateDeleteInput, Any, "write"
)
# The engine's state::list input struct is named StateGetGroupInput, and serde's messages say so.
STATE_LIST: Final[Function[StateListInput, list[Any]]] = _function(
    "state::list", StateListInput, list[Any], "read", rust_name="StateGetGroupInput"
)
STATE_LIST_GROUPS: Final[Function[StateListGroupsInput, StateListGroupsResult]] = _function(
    "state::list_groups", StateListGroupsInput, StateListGroupsResult, "read"
)

FUNCTIONS: Final[Mapping[str, Function[Any, Any]]] = MappingProxyType(
    {
        entry.id: entry
        for entry in (
            STREAM_SET,
            STREAM_GET,
            STREAM_UPDATE,
            STREAM_DELETE,
            STREAM_SEND,
            STREAM_LIST,
            STREAM_LIST_GROUPS,
            STREAM_LIST_ALL,
            STATE_SET,
            STATE_GET,
            STATE_UPDATE,
            STATE_DELETE,
            STATE_LIST,
            STATE_LIST_GROUPS,
        )
    }
)
"""Every store function by id, in the order of the engine's docs."""
