"""``encode_result``: a result (or event) as the engine writes it on the wire.

Rules: compact JSON (msgspec), ``UNSET`` fields omitted (so an update without errors has no
``errors`` key), object keys sorted as the engine's ``serde_json`` (built without
``preserve_order``) emits them, Struct fields in their declared order. Pure, no I/O.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["encode_result"]

_ENCODER = msgspec.json.Encoder(order="deterministic")


def encode_result(result: Any) -> bytes:
    """Compact JSON bytes of a store result, a change event or any JSON value."""
    return _ENCODER.encode(result)
