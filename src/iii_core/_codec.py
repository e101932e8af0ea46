"""JSON encoding and decoding of the wire types, for users.

Rules: msgspec does the work; no value is ever copied through an intermediate JSON text or
dict. A decoder is built once per target type and reused (a bounded cache), since building one
costs more than decoding a small message. Decoding errors are msgspec's ``ValidationError``
(a ``ValueError``) whose message names the failing field path, e.g.
``Expected `int`, got `float` - at `$.ops[0].by```.
"""

from __future__ import annotations

import functools
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
    try:
        decoder = _decoder_for(type)
    except TypeError:  # an unhashable type annotation cannot be cached
        return msgspec.json.decode(data, type=type)
    return decoder.decode(data)


@functools.lru_cache(maxsize=256)
def _decoder_for(type: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(type)


def encode(obj: Any) -> bytes:
    """Encode a wire type (or any JSON value) as compact JSON bytes with its wire names."""
    return _ENCODER.encode(obj)
