"""The public boundary of a store: the only place where values are copied.

Rules: the core shares values (the payload's, the stored ones); a store never hands a caller an
object it keeps, and never keeps an object a caller holds. So exactly where a Python caller
meets the store, and nowhere else:

- ``call(function_id, payload)``: the payload is copied once on the way in (a msgspec JSON
  round trip, which also turns tuples, sets and Structs into their JSON form and refuses what
  JSON cannot hold) and, on a store whose results share values with it (the memory store), the
  result once on the way out: **two copies per call** on the memory store, the input's (the
  size of the payload) and the result's (the size of the result: an update's or a set's holds
  the old and the new value, each a whole item); **one** on Redis, whose results are decoded
  afresh for each call and so belong to the caller already;
- typed methods: the request Struct once in, and on the memory store the result once out, into
  the result type;
- ``call_json(function_id, payload_json)``: **no copy**: the payload is decoded from bytes into
  objects nobody else holds and the result is encoded to bytes straight from the shared
  values (the server's HTTP answer and ``iii-core call`` take this path);
- change events: each Python handler gets its own copy (one per handler per event), except
  handlers registered with ``private_copies=False`` (the server's hub, which only encodes).

Both values of an update result must be copied: the new one is stored, and the old one shares
every member the update did not touch with it (the core copies only the updated path), and with
the change events other handlers get. Within one copy nothing is shared either: a result is a
tree, as if it had been read from JSON.

How a result is copied: stored values are JSON values already (they came in through
:func:`owned_payload` or the JSON reader), so a result needs no conversion, only new
containers: ``msgspec.to_builtins`` builds them in one pass and shares the immutable leaves
(strings, numbers), where a JSON round trip also formats and parses every leaf. A typed result
is then ``msgspec.convert``-ed into its type, which takes the new containers as they are.

The cyclic garbage collector is paused while a copy builds its containers (all of them
reachable, so a collection could free nothing), except a payload decoded from short text.
Otherwise copying a 10,000-key item, some
80,000 containers, sets off a full collection of the whole heap, which costs more than the copy
itself. It is restored before the copy returns, even on an exception, and only if it was
enabled: a program that disables it keeps it disabled. Two threads copying at once both leave it
enabled; a thread that disables it in the moment between another's pause and restore finds it
enabled again.

A value nested deeper than the engine accepts is refused here already when msgspec's own
recursion guard trips, with the same error as the core's depth bound.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from gc import disable, enable, isenabled
from typing import Any, Final, TypeVar

import msgspec

from iii_core._json import loads
from iii_core.errors import ErrorCode
from iii_core.store import (
    MAX_PAYLOAD_DEPTH,
    ChangeEvent,
    StoreCallError,
    check_payload_depth,
    too_deep,
    within_depth,
)
from iii_core.update import InvalidUpdateJSON

__all__ = [
    "as_json",
    "copy_event",
    "copy_result",
    "encode",
    "owned_payload",
    "payload_from_json",
    "typed_result",
]

T = TypeVar("T")

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()

# serde_json's number rules, any depth: the depth is bounded after decoding, with the engine's
# message.
_loads_any_depth: Final = partial(loads, max_depth=None)

_SHORT_TEXT = 4096
"""JSON text shorter than this (in bytes or characters) is decoded without pausing the
collector: it holds too few containers (each takes two bytes or more) to set off more than a
few young collections, which a pause would only put off; most calls' payloads are this short."""


def _collector_paused(build: Callable[..., T], *args: Any) -> T:
    """``build(*args)``, which makes new containers and returns them all, run with the cyclic
    garbage collector paused (see the module docstring)."""
    enabled = isenabled()
    try:
        # Inside the try: an interrupt between disabling and entering it would leave it off.
        disable()
        return build(*args)
    finally:
        if enabled:
            enable()


def _decoded_within_depth(decode: Callable[[Any], Any], text: bytes | str, function_id: str) -> Any:
    """``decode(text)``, refused with the engine's error when nested too deep (walked only when
    the text's brackets do not already vouch for it)."""
    payload = decode(text)
    if not within_depth(text):
        check_payload_depth(function_id, payload)
    return payload


def owned_payload(function_id: str, payload: Any) -> Any:
    """A private copy of a caller's payload, as JSON values, within the engine's depth bound
    (else the engine's error)."""
    try:
        text = _encoder.encode(payload)
        if len(text) <= MAX_PAYLOAD_DEPTH:  # the everyday call: too short to nest too deep
            return _decoder.decode(text)
        if len(text) < _SHORT_TEXT:
            return _decoded_within_depth(_decoder.decode, text, function_id)
        return _collector_paused(_decoded_within_depth, _decoder.decode, text, function_id)
    except RecursionError:
        raise too_deep(function_id) from None
    except (TypeError, msgspec.EncodeError, msgspec.DecodeError) as exc:
        raise StoreCallError(
            ErrorCode.DESERIALIZATION_ERROR, f"input for {function_id} is not a JSON value: {exc}"
        ) from None


def payload_from_json(function_id: str, payload_json: bytes | str) -> Any:
    """The payload of an encoded call, within the engine's depth bound (else the engine's
    error). Not JSON: ``InvalidUpdateJSON`` (code ``invalid_json``, as ``iii-core call``
    reports a bad line) whose message is the decoder's."""
    try:
        if len(payload_json) < _SHORT_TEXT:
            return _decoded_within_depth(_loads_any_depth, payload_json, function_id)
        return _collector_paused(_decoded_within_depth, _loads_any_depth, payload_json, function_id)
    except RecursionError:
        raise too_deep(function_id) from None
    except msgspec.DecodeError as exc:
        raise InvalidUpdateJSON(str(exc)) from None


def copy_result(result: Any) -> Any:
    """A call's result as a private JSON value (UNSET fields left out)."""
    return _collector_paused(msgspec.to_builtins, result)


def as_json(result: Any) -> Any:
    """A result that nobody else holds, as JSON values: its Structs become dicts (UNSET fields
    left out); the values inside are not copied. Only Struct-typed results carry Structs, and
    only at their top level or in lists (``errors``, ``stream``), never inside stored values."""
    if isinstance(result, msgspec.Struct):
        plain = {}
        for name, value in zip(
            result.__struct_encode_fields__, msgspec.structs.astuple(result), strict=True
        ):
            if value is msgspec.UNSET:
                continue
            plain[name] = as_json(value) if type(value) is list else value
        return plain
    if type(result) is list and result and isinstance(result[0], msgspec.Struct):
        return [as_json(item) for item in result]
    return result


def typed_result(result: Any, kind: type[T]) -> T:
    """A call's result as a private value of ``kind`` (a result Struct, ``list[str]``...)."""
    copied: T = _collector_paused(_typed_copy, result, kind)
    return copied


def _typed_copy(result: Any, kind: type[T]) -> T:
    return msgspec.convert(msgspec.to_builtins(result), kind)


def encode(result: Any) -> bytes:
    """A call's result as compact JSON, objects in their stored key order (what ``call``
    returns, encoded)."""
    return _encoder.encode(result)


def copy_event(event: ChangeEvent) -> ChangeEvent:
    """A change event as a private value of its own type."""
    return typed_result(event, type(event))
