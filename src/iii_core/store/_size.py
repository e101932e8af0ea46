"""The ``max_value_bytes`` guard of ``state::set``.

Rules: the size is the engine's ``serde_json::to_vec(&value).len()``: compact JSON, non-ASCII
written as raw UTF-8, Rust (ryu) number formatting, which is what msgspec writes too (``"é"`` is
4 bytes, ``1e16`` is 4). The guard runs before anything is written; a limit of ``None`` or
``<= 0`` is none, as the engine's config ``normalized()`` makes it. Pure, no I/O.
"""

from __future__ import annotations

from typing import Any

import msgspec

from iii_core.store._errors import VALUE_TOO_LARGE, StoreCallError

__all__ = ["check_value_size", "json_size"]

_ENCODER = msgspec.json.Encoder()


def json_size(value: Any) -> int:
    """Bytes of the compact JSON encoding of ``value`` as the engine measures it."""
    return len(_ENCODER.encode(value))


def check_value_size(value: Any, limit: int | None) -> None:
    """Raise ``VALUE_TOO_LARGE`` when ``value`` encodes to more than ``limit`` bytes; ``None``
    or ``<= 0`` is no limit (the engine's ``normalized()``)."""
    if limit is None or limit <= 0:
        return
    size = json_size(value)
    if size > limit:
        raise StoreCallError(
            VALUE_TOO_LARGE,
            f"value of {size} bytes exceeds the configured max_value_bytes limit of {limit}",
        )
