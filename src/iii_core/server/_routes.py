"""The store subscriptions of a server: one per stream group its clients have joined.

Rules: a binding. Instead of watching every change of the store, the server follows the groups
of its subscription hub: :meth:`GroupRoutes.follow` subscribes to each group that gained its
first client and unsubscribes from each group that lost its last, so that on Redis a process
listens (and decodes) only the groups it serves (see ``iii_core.backends._event_routing``).
A group is followed before its first client's ``sync`` is read, so no change after that read
is missed. Calls are serialised: two clients joining one new group at once subscribe once.
Budget: one store subscription per group joined by at least one client (the hub's bound).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Set

from iii_core.backends import ChangeEvent
from iii_core.server._store import StoreLink
from iii_core.stream import StreamTriggerConfig

__all__ = ["GroupRoutes"]


class GroupRoutes:
    """The groups followed, each with its ``unsubscribe``."""

    def __init__(
        self,
        link: StoreLink,
        deliver: Callable[[ChangeEvent], None],
        on_resync: Callable[[], None] | None = None,
    ) -> None:
        self._link = link
        self._deliver = deliver
        self._on_resync = on_resync
        self._followed: dict[tuple[str, str], Callable[[], None]] = {}
        self._lock = asyncio.Lock()

    @property
    def groups(self) -> frozenset[tuple[str, str]]:
        return frozenset(self._followed)

    async def follow(self, groups: Set[tuple[str, str]]) -> None:
        """Follow exactly ``groups`` (``(stream_name, group_id)`` pairs)."""
        async with self._lock:
            for group in [group for group in self._followed if group not in groups]:
                self._followed.pop(group)()
            for group in sorted(groups - self._followed.keys()):
                stream_name, group_id = group
                config = StreamTriggerConfig(stream_name=stream_name, group_id=group_id)
                self._followed[group] = await self._link.subscribe(
                    config, self._deliver, self._on_resync_once(group)
                )

    def _on_resync_once(self, group: tuple[str, str]) -> Callable[[], None] | None:
        # Every group's subscription reports the same dropped connection: the server hears it
        # once, from the first group followed.
        on_resync = self._on_resync
        if on_resync is None:
            return None

        def resync() -> None:
            if next(iter(self._followed), None) == group:
                on_resync()

        return resync

    def close(self) -> None:
        """Stop following every group."""
        for unsubscribe in self._followed.values():
            with contextlib.suppress(Exception):
                unsubscribe()
        self._followed.clear()
