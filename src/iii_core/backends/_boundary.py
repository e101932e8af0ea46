"""The public boundary of a store: the only place where values are copied.

Rules: the core shares values (the payload's, the stored ones); a store never hands a caller an
object it keeps, and never keeps an object a caller holds. So exactly where a Python caller
meets the store, and nowhere else:

- ``call(function_id, payload)``: the payload is copied once on the way in (a msgspec JSON
  round trip, which also turns tuples, sets and Structs into their JSON form and refuses what
  JSON cannot hold) and, on a store whose results share values with it (the memory store), the
  result once on the way out: **two copies per call** on the memory store, the input's (the
  size of the payload) and the result's (the size of the result); **one** on Redis, whose
  results are decoded afresh for each call and so belong to the caller already;
- typed methods: the request Struct once in, and on the memory store the result once out, into
  the result type;
- ``call_json(function_id, payload_json)``: **no copy**: the payload is decoded from bytes into
  objects nobody else holds and the result is encoded to bytes straight from the shared
  values (the server's HTTP answer and ``iii-core call`` take this path);
- change events: each Python handler gets its own copy (one per handler per event), except
  handlers registered with ``private_copies=False`` (the server's hub, which only encodes).

A value nested deeper than the engine accepts is refused here already when msgspec's own
recursion guard trips, with the same error as the core's depth bound.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from iii_core._json import loads
from iii_core.errors import ErrorCode
from iii_core.store import ChangeEvent, StoreCallError, too_deep
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


def owned_payload(function_id: str, payload: Any) -> Any:
    """A private copy of a caller's payload, as JSON values."""
    try:
        return _decoder.decode(_encoder.encode(payload))
    except RecursionError:
        raise too_deep(function_id) from None
    except (TypeError, msgspec.EncodeError, msgspec.DecodeError) as exc:
        raise StoreCallError(
            ErrorCode.DESERIALIZATION_ERROR, f"input for {function_id} is not a JSON value: {exc}"
        ) from None


def payload_from_json(function_id: str, payload_json: bytes | str) -> Any:
    """The payload of an encoded call. Not JSON: ``InvalidUpdateJSON`` (code
    ``invalid_json``, as ``iii-core call`` reports a bad line) whose message is the decoder's."""
    try:
        # serde_json's number rules; the call flow bounds the depth with the engine's message.
        return loads(payload_json, max_depth=None)
    except RecursionError:
        raise too_deep(function_id) from None
    except msgspec.DecodeError as exc:
        raise InvalidUpdateJSON(str(exc)) from None


def copy_result(result: Any) -> Any:
    """A call's result as a private JSON value (UNSET fields left out)."""
    return _decoder.decode(_encoder.encode(result))


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
    return msgspec.json.decode(_encoder.encode(result), type=kind)


def encode(result: Any) -> bytes:
    """A call's result as compact JSON, objects in their stored key order (what ``call``
    returns, encoded)."""
    return _encoder.encode(result)


def copy_event(event: ChangeEvent) -> ChangeEvent:
    return msgspec.json.decode(_encoder.encode(event), type=type(event))
