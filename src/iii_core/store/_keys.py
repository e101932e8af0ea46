"""Where items live: the engine's Redis key layout, shared by every backend.

Rules: stream items live in the hash ``stream:{stream_name}:{group_id}`` under the field
``item_id``; state entries in the hash ``state:{scope}`` under the field ``key``. Names are not
escaped (as in the engine), so a ``:`` inside a stream name is ambiguous on listing, a quirk the
read functions reproduce. Pure string formatting, no I/O.
"""

from __future__ import annotations

from iii_core._generated.state import (
    StateDeleteInput,
    StateGetInput,
    StateListGroupsInput,
    StateListInput,
    StateSetInput,
    StateUpdateInput,
)
from iii_core._generated.stream import (
    StreamDeleteInput,
    StreamGetInput,
    StreamListGroupsInput,
    StreamListInput,
    StreamSetInput,
    StreamUpdateInput,
)
from iii_core.store._requests import Request, StreamListAllInput

__all__ = [
    "STATE_PREFIX",
    "STREAM_PREFIX",
    "item_location",
    "list_hash_key",
    "list_hash_prefix",
]

STREAM_PREFIX = "stream:"
STATE_PREFIX = "state:"

_STREAM_ITEM = (StreamSetInput, StreamGetInput, StreamDeleteInput, StreamUpdateInput)
_STATE_ITEM = (StateSetInput, StateGetInput, StateDeleteInput, StateUpdateInput)


def item_location(request: Request) -> tuple[str, str] | None:
    """``(hash key, field)`` of the one item a request reads or writes, or ``None``.

    ``None`` for requests that address no single item: ``stream::send`` (stores nothing) and the
    listings (see :func:`list_hash_key` and :func:`list_hash_prefix`).
    """
    if isinstance(request, _STREAM_ITEM):
        return f"{STREAM_PREFIX}{request.stream_name}:{request.group_id}", request.item_id
    if isinstance(request, _STATE_ITEM):
        return f"{STATE_PREFIX}{request.scope}", request.key
    return None


def list_hash_key(request: StreamListInput | StateListInput) -> str:
    """The hash whose values ``stream::list`` / ``state::list`` return."""
    if isinstance(request, StreamListInput):
        return f"{STREAM_PREFIX}{request.stream_name}:{request.group_id}"
    return f"{STATE_PREFIX}{request.scope}"


def list_hash_prefix(
    request: StreamListGroupsInput | StateListGroupsInput | StreamListAllInput | None,
) -> str:
    """The prefix of the hash keys a backend enumerates for a group listing.

    ``stream::list_groups`` -> ``stream:{stream_name}:``; ``state::list_groups`` -> ``state:``;
    ``stream::list_all`` (``None`` or a ``StreamListAllInput``) -> ``stream:``. The prefix is
    literal: a glob-based enumeration (Redis ``SCAN MATCH``) must escape ``*?[]\\`` in it.
    """
    if isinstance(request, StreamListGroupsInput):
        return f"{STREAM_PREFIX}{request.stream_name}:"
    if isinstance(request, StateListGroupsInput):
        return STATE_PREFIX
    return STREAM_PREFIX
