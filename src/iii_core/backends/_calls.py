"""How a backend runs one call, shared by the sync and the async stores.

Rules: no I/O here. A call's payload is first copied through msgspec (so the store never
aliases a caller's object, and anything that is not JSON is a ``deserialization_error``), then
decoded by the core; a read is planned as one storage fetch plus a pure shaping function; a
write is the core's pure transition, which a backend runs inside its atomic read-write step.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Literal, NamedTuple, TypeVar

import msgspec

from iii_core.errors import ErrorCode
from iii_core.store import (
    StoreCallError,
    Transition,
    decode_call,
    item_location,
    list_hash_key,
    list_hash_prefix,
    read_item,
    read_list,
    read_list_all,
    read_list_groups,
    transition,
)

__all__ = ["ReadPlan", "as_type", "decode_request", "owned_copy", "plan_read", "to_json", "writer"]

T = TypeVar("T")

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def owned_copy(value: Any, what: str) -> Any:
    """A private copy of a JSON value (msgspec's encodable types become their JSON form);
    anything it cannot encode is a deserialization error."""
    try:
        return _decoder.decode(_encoder.encode(value))
    except (TypeError, msgspec.EncodeError, msgspec.DecodeError, RecursionError) as exc:
        raise StoreCallError(
            ErrorCode.DESERIALIZATION_ERROR, f"{what} is not a JSON value: {exc}"
        ) from None


def decode_request(function_id: str, payload: Any) -> Any:
    return decode_call(function_id, owned_copy(payload, f"input for {function_id}"))


def to_json(result: Any) -> Any:
    """A result as the JSON value the engine would send (UNSET fields left out)."""
    return _decoder.decode(_encoder.encode(result))


def as_type(result: Any, kind: type[T]) -> T:
    return msgspec.json.decode(_encoder.encode(result), type=kind)


class ReadPlan(NamedTuple):
    """One fetch — a hash ``field``, all ``values`` of a hash, or the hash ``keys`` under a
    prefix — and the pure function that shapes what was fetched into the result."""

    source: Literal["field", "values", "keys"]
    key: str
    field: str
    shape: Callable[[Any], Any]


def plan_read(function_id: str, request: Any) -> ReadPlan:
    if function_id in ("stream::get", "state::get"):
        location = item_location(request)
        if location is None:
            raise StoreCallError(
                ErrorCode.DESERIALIZATION_ERROR, "request addresses no stored item"
            )
        return ReadPlan("field", location[0], location[1], partial(read_item, request))
    if function_id in ("stream::list", "state::list"):
        return ReadPlan("values", list_hash_key(request), "", partial(read_list, request))
    if function_id == "stream::list_all":
        return ReadPlan("keys", list_hash_prefix(None), "", read_list_all)
    return ReadPlan("keys", list_hash_prefix(request), "", partial(read_list_groups, request))


def writer(request: Any, now_ms: int, max_value_bytes: int | None) -> Callable[[Any], Transition]:
    """The pure step ``old -> Transition`` that a backend runs atomically on one item."""

    def step(old: Any) -> Transition:
        return transition(request, old, now_ms, max_value_bytes=max_value_bytes)

    return step
