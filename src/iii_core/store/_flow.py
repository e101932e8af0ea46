"""How one ``stream::*`` / ``state::*`` call runs: the one call flow every backend drives.

``call_flow(function_id, payload, now_ms, limits)`` decodes the payload (the engine's serde
rules, bad input fails before any storage is touched) and returns a generator that yields the
storage operations of :mod:`iii_core.store._storage`, receives their results and returns the
call's result:

- ``get``: ``ReadField`` → :func:`read_item`;
- ``list``: ``ReadHash`` → :func:`read_list` (and ``ReadHash(fields=True)`` to name an item
  whose stored form is not JSON);
- ``list_groups`` / ``list_all``: ``ListKeys`` → :func:`read_list_groups` / :func:`read_list_all`;
- ``send``: the transition, then ``Publish``;
- ``set`` / ``update`` / ``delete``: ``ReadField(fresh=False)``, the pure transition, then
  ``CompareAndSet`` of the item with the transition's events; on ``Changed`` the transition is
  recomputed from the current value and tried again, at most ``MAX_WRITE_ATTEMPTS`` times.

Bounds: a payload nested deeper than :data:`MAX_PAYLOAD_DEPTH` (serde_json's recursion limit)
is refused with the engine-style ``deserialization_error`` ``recursion limit exceeded``, so no
stored value is ever too deep to be decoded again (updates add at most the 32-segment path
bound of the op engine). The depth is measured without recursion. A stored form that is not
JSON is ``STORE_BAD_DATA`` naming the item.

Copies: none. The flow shares values with the payload and with stored values; results and
events share them too. The binding that owns the call decides where to copy (see
``iii_core.backends``). Pure: no I/O, no clock (``now_ms`` is an argument), nothing mutated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import msgspec

from iii_core._json import loads
from iii_core.store._decode_call import decode_request
from iii_core.store._errors import (
    DESERIALIZATION_ERROR,
    STORE_BAD_DATA,
    STORE_CONFLICT,
    StoreCallError,
)
from iii_core.store._keys import item_location, list_hash_key, list_hash_prefix
from iii_core.store._reads import read_item, read_list, read_list_all, read_list_groups
from iii_core.store._requests import READ_FUNCTIONS, Request
from iii_core.store._storage import (
    MAX_WRITE_ATTEMPTS,
    CompareAndSet,
    Flow,
    ListKeys,
    Publish,
    ReadField,
    ReadHash,
)
from iii_core.store._transition import transition
from iii_core.update import MISSING

__all__ = [
    "MAX_PAYLOAD_DEPTH",
    "Call",
    "Limits",
    "call_flow",
    "check_payload_depth",
    "decode_stored",
    "too_deep",
]

# serde_json refuses input nested 128 levels deep ("recursion limit exceeded"): the engine
# never sees such a payload, and a bound here keeps every stored value decodable.
MAX_PAYLOAD_DEPTH: Final = 127

_ITEM_READS: Final = frozenset({"stream::get", "state::get"})
_HASH_READS: Final = frozenset({"stream::list", "state::list"})


@dataclass(frozen=True, slots=True)
class Limits:
    """The configurable limits of a store. ``max_value_bytes``: the largest ``state::set``
    value, in bytes of compact JSON; ``None`` or ``<= 0`` means no limit (the engine's
    ``normalized()``)."""

    max_value_bytes: int | None = None


def too_deep(function_id: str) -> StoreCallError:
    return StoreCallError(
        DESERIALIZATION_ERROR,
        f"Failed to deserialize input for {function_id}: recursion limit exceeded",
    )


def within_depth(text: bytes | str) -> bool:
    """Whether the JSON ``text`` surely nests no deeper than :data:`MAX_PAYLOAD_DEPTH`: it
    holds no more brackets than that (counted in C; brackets inside strings count too, so a
    ``False`` only means that the depth must be measured)."""
    if len(text) <= MAX_PAYLOAD_DEPTH:
        return True
    if isinstance(text, str):
        return text.count("[") + text.count("{") <= MAX_PAYLOAD_DEPTH
    if not isinstance(text, bytes):  # another buffer (msgspec.Raw, from the CLI's lines)
        text = bytes(text)
    return text.count(b"[") + text.count(b"{") <= MAX_PAYLOAD_DEPTH


def check_payload_depth(function_id: str, payload: Any) -> None:
    """Refuse a payload nested deeper than :data:`MAX_PAYLOAD_DEPTH` (each array or object
    counts one level), walking it level by level, without recursion."""
    if type(payload) is dict:
        for value in payload.values():
            if type(value) is dict or type(value) is list:
                break
        else:
            return  # one level: most reads
    level = [payload] if type(payload) is dict or type(payload) is list else []
    depth = 0
    while level:
        depth += 1
        if depth > MAX_PAYLOAD_DEPTH:
            raise too_deep(function_id)
        below: list[Any] = []
        for node in level:
            below.extend(node.values() if type(node) is dict else node)
        level = [node for node in below if type(node) is dict or type(node) is list]


def _decode_form(stored: Any) -> Any:
    return loads(stored, max_depth=None) if type(stored) is bytes else stored


def decode_stored(stored: Any, hash_key: str, field: str) -> Any:
    """The JSON value of a stored form (``MISSING``, JSON text as ``bytes``, or a value)."""
    if type(stored) is not bytes:
        return stored
    try:
        return loads(stored, max_depth=None)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise StoreCallError(
            STORE_BAD_DATA,
            f"the stored value of item {field!r} in {hash_key!r} is not JSON: {exc}",
        ) from None


class Call(msgspec.Struct, frozen=True, gc=False):
    """A decoded call: its function id, its typed request (an update's ``ops`` kept as the
    update engine's ``DecodedOps``, so they are decoded once) and the item it writes (``None``
    for reads and ``stream::send``), which a binding may use to serialise writers of one
    item."""

    function_id: str
    request: Request
    item: tuple[str, str] | None

    @classmethod
    def decode(cls, function_id: str, payload: Any, *, depth_checked: bool = False) -> Call:
        """Decode a JSON payload the engine's way (raises :class:`StoreCallError`);
        ``depth_checked``: the caller has bounded the payload's depth already (its text passed
        :func:`within_depth`, or :func:`check_payload_depth` ran)."""
        if not depth_checked:
            check_payload_depth(function_id, payload)  # serde fails on depth while parsing
        request = decode_request(function_id, payload)
        writes = function_id not in READ_FUNCTIONS
        return cls(function_id, request, item_location(request) if writes else None)

    def flow(self, now_ms: int, limits: Limits = Limits()) -> Flow:
        """The call's flow (see the module docstring)."""
        if self.function_id in READ_FUNCTIONS:
            return self._read()
        return self._write(now_ms, limits.max_value_bytes)

    def _read(self) -> Flow:
        request: Any = self.request
        function_id = self.function_id
        if function_id in _ITEM_READS:
            location = item_location(request)
            assert location is not None  # a get always addresses an item
            stored = yield ReadField(*location)
            return read_item(request, decode_stored(stored, *location))
        if function_id in _HASH_READS:
            hash_key = list_hash_key(request)
            forms = yield ReadHash(hash_key)
            try:
                values = [_decode_form(stored) for stored in forms]
            except (msgspec.DecodeError, RecursionError):
                # Name the unreadable item: read again, with the fields this time.
                for field, stored in (yield ReadHash(hash_key, fields=True)):
                    decode_stored(stored, hash_key, field)
                raise StoreCallError(
                    STORE_BAD_DATA, f"a stored value in {hash_key!r} is not JSON"
                ) from None
            return read_list(request, values)
        if function_id == "stream::list_all":
            return read_list_all((yield ListKeys(list_hash_prefix(None))))
        return read_list_groups(request, (yield ListKeys(list_hash_prefix(request))))

    def _write(self, now_ms: int, max_value_bytes: int | None) -> Flow:
        request = self.request
        if self.item is None:
            outcome = transition(request, MISSING, now_ms, max_value_bytes=max_value_bytes)
            yield Publish(outcome.events)
            return outcome.result
        hash_key, field = self.item
        stored = yield ReadField(hash_key, field, fresh=False)
        for attempt in range(MAX_WRITE_ATTEMPTS):
            old = MISSING if stored is MISSING else decode_stored(stored, hash_key, field)
            outcome = transition(request, old, now_ms, max_value_bytes=max_value_bytes)
            changed = yield CompareAndSet(
                hash_key,
                field,
                stored,
                outcome.write,
                outcome.new,
                outcome.events,
                attempt,
            )
            if changed is None:
                return outcome.result
            stored = changed.current
        raise StoreCallError(
            STORE_CONFLICT,
            f"item {field!r} in {hash_key!r} changed under {MAX_WRITE_ATTEMPTS} "
            "consecutive writes; nothing was written",
        )


def call_flow(function_id: str, payload: Any, now_ms: int, limits: Limits = Limits()) -> Flow:
    """Decode ``payload`` for ``function_id`` and return the call's flow.

    Raises :class:`StoreCallError` at once for an unknown function id or a payload the engine
    would refuse; storage is never touched then.
    """
    return Call.decode(function_id, payload).flow(now_ms, limits)
