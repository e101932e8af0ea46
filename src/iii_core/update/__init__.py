"""The update-op engine: the iii engine's ``set``, ``merge``, ``append``, ``increment``,
``decrement`` and ``remove`` applied to a JSON value, exactly as ``state::update`` and
``stream::update`` apply them.

Rules: pure. No I/O, logging, clocks or global state; the old value and the ops are never
mutated (untouched subtrees are shared with the input, each touched container is copied at most
once per call); nothing is walked recursively, so no input raises ``RecursionError``. Malformed
ops raise :class:`InvalidOps` before anything is applied; an op that fails is skipped and
reported as an :class:`UpdateOpError` while later ops still apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from iii_core._generated.stream import UpdateOpError
from iii_core.errors import ErrorCode, IIICoreError
from iii_core.update._apply import apply_decoded
from iii_core.update._decode import decode_ops
from iii_core.update._errors import DOC_URL, InvalidOps
from iii_core.update._missing import MISSING, Missing

__all__ = [
    "DOC_URL",
    "MISSING",
    "InvalidOps",
    "InvalidUpdateJSON",
    "Missing",
    "UpdateOpError",
    "apply_update_ops",
    "apply_update_ops_json",
]

_decoder = msgspec.json.Decoder()


class InvalidUpdateJSON(IIICoreError, ValueError):
    """Bytes given to :func:`apply_update_ops_json` that are not a JSON document."""

    code = ErrorCode.INVALID_JSON


def apply_update_ops(old: Any, ops: Sequence[Any]) -> tuple[Any, list[UpdateOpError]]:
    """Apply ``ops`` to ``old`` and return ``(new_value, errors)``.

    ``old`` is a JSON value (dict, list, str, int, float, bool, None) or :data:`MISSING`.
    ``ops`` holds generated op Structs (``UpdateSet``, ``UpdateMerge``, ...) or wire-JSON
    dicts, in any mix; both forms give identical results. The returned value shares untouched
    subtrees with ``old`` and with the op values: treat it as immutable.
    """
    return apply_decoded(old, decode_ops(ops))


def apply_update_ops_json(
    old_json: bytes | str | None, ops_json: bytes | str
) -> tuple[Any, list[UpdateOpError]]:
    """:func:`apply_update_ops` for callers that hold raw JSON.

    ``old_json`` is the stored value's JSON, or ``None`` when there is no stored value
    (:data:`MISSING`). Returns the same ``(new_value, errors)`` as :func:`apply_update_ops`
    (encode the value with :func:`iii_core.encode`). Raises :class:`InvalidUpdateJSON` for bytes
    that are not JSON and :class:`InvalidOps` for a malformed op list.
    """
    old = MISSING if old_json is None else _decode_json(old_json, "old value")
    return apply_update_ops(old, _decode_json(ops_json, "ops"))


def _decode_json(data: bytes | str, what: str) -> Any:
    try:
        return _decoder.decode(data)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise InvalidUpdateJSON(f"{what} is not valid JSON: {exc}") from None
