"""Reads as pure functions of a snapshot: ``get``, ``list``, ``list_groups``, ``list_all``.

Rules: shapes are the engine's: ``get`` returns the value or ``null``; ``list`` a bare array of
values (no ids) in the order the backend gives them (the engine's kv keeps insertion order);
``stream::list_groups`` a bare array of group ids, neither sorted nor deduplicated, found by
stripping the prefix ``stream:{name}:`` without splitting (so stream ``a:b`` group ``g`` shows up
as group ``b:g`` of stream ``a``); ``state::list_groups`` ``{groups}`` sorted and deduplicated;
``stream::list_all`` splits each key on ``:`` and takes parts 1 and 2, mis-filing names that
contain ``:``, as the engine does. Pure: no I/O, inputs never mutated, values shared.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from iii_core._generated.state import (
    StateGetInput,
    StateListGroupsInput,
    StateListGroupsResult,
    StateListInput,
)
from iii_core._generated.stream import (
    StreamGetInput,
    StreamListAllResult,
    StreamListGroupsInput,
    StreamListInput,
    StreamMetadata,
)
from iii_core.store._keys import STREAM_PREFIX, list_hash_prefix
from iii_core.update import MISSING

__all__ = ["read_item", "read_list", "read_list_all", "read_list_groups"]


def read_item(request: StreamGetInput | StateGetInput, item: Any) -> Any:
    """Result of ``stream::get`` / ``state::get``: the item's value, or ``None`` when missing."""
    return None if item is MISSING else item


def read_list(request: StreamListInput | StateListInput, values: Iterable[Any]) -> list[Any]:
    """Result of ``stream::list`` / ``state::list``: the hash's values, in the given order."""
    return list(values)


def read_list_groups(
    request: StreamListGroupsInput | StateListGroupsInput, hash_keys: Iterable[str]
) -> Any:
    """Result of ``stream::list_groups`` (bare list) or ``state::list_groups`` (``{groups}``).

    ``hash_keys`` are the backend's hash keys; keys outside :func:`list_hash_prefix` are ignored.
    """
    prefix = list_hash_prefix(request)
    start = len(prefix)
    if isinstance(request, StateListGroupsInput):
        scopes = {key[start:] for key in hash_keys if key.startswith(prefix)}
        return StateListGroupsResult(groups=sorted(scopes))
    return [key[start:] for key in hash_keys if key.startswith(prefix)]


def read_list_all(hash_keys: Iterable[str]) -> StreamListAllResult:
    """Result of ``stream::list_all``: ``{"stream": [{"id", "groups"}...], "count": N}``.

    Streams sorted by id, each with its groups deduplicated and sorted; ``count`` is the number
    of streams. Keys that do not start with ``stream:`` or have fewer than three ``:``-separated
    parts are ignored.
    """
    streams: dict[str, set[str]] = {}
    for key in hash_keys:
        if not key.startswith(STREAM_PREFIX):
            continue
        parts = key.split(":", 3)
        if len(parts) < 3:
            continue
        streams.setdefault(parts[1], set()).add(parts[2])
    listing = [StreamMetadata(id=name, groups=sorted(streams[name])) for name in sorted(streams)]
    return StreamListAllResult(stream=listing, count=len(listing))
