"""The update-op engine: the iii engine's ``set``, ``merge``, ``append``, ``increment``,
``decrement`` and ``remove`` applied to a JSON value, exactly as ``state::update`` and
``stream::update`` apply them.

Rules: pure. No I/O, logging, clocks or global state; the old value and the ops are never
mutated (untouched subtrees are shared with the input, each touched container is copied at most
once per call); nothing is walked recursively, so no input raises ``RecursionError``. Malformed
ops raise :class:`InvalidOps` before anything is applied; an op that fails is skipped and
reported as an :class:`UpdateOpError` while later ops still apply.

Decode once, apply later: :func:`decode_update_ops` checks an op list the way the engine's
serde layer does and returns :class:`DecodedOps`; :func:`apply_update_ops` accepts those as
they are, so a caller that validates a request first (a store call) hands the engine the ops
it validated without decoding or re-building them::

    ops = decode_update_ops(payload["ops"])      # InvalidOps here, before any I/O
    new_value, errors = apply_update_ops(old, ops)

Numbers: Python callers keep exact Python ints everywhere (in values and in the old value); the
engine's rules then treat an int outside ``[-2**63, 2**64 - 1]`` as the float serde_json would
have read. JSON text goes through :func:`apply_update_ops_json`, which reads it as serde_json
does (``-0`` is ``-0.0``, integers beyond u64 are floats). ``by`` must be an i64 in both forms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from iii_core import _json
from iii_core._generated.stream import UpdateOpError
from iii_core.errors import ErrorCode, IIICoreError
from iii_core.update._apply import apply_decoded, apply_wire
from iii_core.update._decode import DecodedOps, decode_update_ops
from iii_core.update._errors import DOC_URL, InvalidOps
from iii_core.update._missing import MISSING, Missing

__all__ = [
    "DOC_URL",
    "MISSING",
    "DecodedOps",
    "InvalidOps",
    "InvalidUpdateJSON",
    "Missing",
    "UpdateOpError",
    "apply_update_ops",
    "apply_update_ops_json",
    "decode_update_ops",
]


class InvalidUpdateJSON(IIICoreError, ValueError):
    """Bytes given to :func:`apply_update_ops_json` that are not a JSON document."""

    code = ErrorCode.INVALID_JSON


def apply_update_ops(old: Any, ops: Sequence[Any] | DecodedOps) -> tuple[Any, list[UpdateOpError]]:
    """Apply ``ops`` to ``old`` and return ``(new_value, errors)``.

    ``old`` is a JSON value (dict, list, str, int, float, bool, None) or :data:`MISSING`.
    ``ops`` is :class:`DecodedOps`, or a list of generated op Structs (``UpdateSet``,
    ``UpdateMerge``, ...) and/or wire-JSON dicts; all forms give identical results. The
    returned value shares untouched subtrees with ``old`` and with the op values: treat it as
    immutable.
    """
    if type(ops) is DecodedOps:
        return apply_decoded(old, ops._ops)
    return apply_wire(old, ops)


def apply_update_ops_json(
    old_json: bytes | str | None, ops_json: bytes | str
) -> tuple[Any, list[UpdateOpError]]:
    """:func:`apply_update_ops` for callers that hold raw JSON, read as the engine reads it.

    ``old_json`` is the stored value's JSON, or ``None`` when there is no stored value
    (:data:`MISSING`). Numbers follow serde_json (:mod:`iii_core._json`). Returns the same
    ``(new_value, errors)`` as :func:`apply_update_ops` (encode the value with
    :func:`iii_core.encode`). Raises :class:`InvalidUpdateJSON` for text that is not JSON (or
    nests 128 containers deep) and :class:`InvalidOps` for a malformed op list.
    """
    old = MISSING if old_json is None else _decode_json(old_json, "old value")
    return apply_update_ops(old, _decode_json(ops_json, "ops"))


def _decode_json(data: bytes | str, what: str) -> Any:
    try:
        return _json.loads(data)
    except msgspec.DecodeError as exc:
        raise InvalidUpdateJSON(f"{what} is not valid JSON: {exc}") from None
