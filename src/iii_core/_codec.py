"""JSON encoding and decoding of the wire types, for users.

Rules: msgspec does the work; no value is ever copied through an intermediate JSON text or
dict. Decoding errors are msgspec's ``ValidationError`` (a ``ValueError``) whose message names
the failing field path, e.g. ``Expected `int`, got `float` - at `$.ops[0].by```.
"""

from __future__ import annotations

from typing import Any, TypeVar, overload

import msgspec

__all__ = ["decode", "encode"]

T = TypeVar("T")

_ENCODER = msgspec.json.Encoder()


@overload
def decode(data: bytes | bytearray | memoryview | str, type: type[T]) -> T: ...
@overload
def decode(data: bytes | bytearray | memoryview | str, type: Any = ...) -> Any: ...
def decode(data: bytes | bytearray | memoryview | str, type: Any = Any) -> Any:
    """Decode JSON ``data`` into ``type`` (any generated Struct, union alias or container)."""
    return msgspec.json.decode(data, type=type)


def encode(obj: Any) -> bytes:
    """Encode a wire type (or any JSON value) as compact JSON bytes with its wire names."""
    return _ENCODER.encode(obj)
