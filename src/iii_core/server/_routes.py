"""The store subscriptions of a server: one per stream group its clients have joined.

Rules: a binding. Instead of watching every change of the store, the server follows the groups
of its subscription hub: :meth:`GroupRoutes.follow` subscribes to each group that gained its
first client and unsubscribes from each group that lost its last, so that on Redis a process
listens (and decodes) only the groups it serves (see ``iii_core.backends._event_routing``).
A group is followed before its first client's ``sync`` is read, so no change after that read
is missed. Calls are serialised: two clients joining one new group at once subscribe once.
A resync signal of any followed group (its pub/sub connection dropped, or its slot moved to
another primary) makes the server resync; the signals of one drop, one per group on that
connection, come in a burst and make one resync (the first schedules it for the loop's next
turn).
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
        self._resync_due = False

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
                    config, self._deliver, None if self._on_resync is None else self._resync_soon
                )

    def _resync_soon(self) -> None:
        # Runs on the loop (StoreLink hands signals over there).
        if not self._resync_due:
            self._resync_due = True
            asyncio.get_running_loop().call_soon(self._resync)

    def _resync(self) -> None:
        self._resync_due = False
        if self._on_resync is not None and self._followed:
            self._on_resync()

    def close(self) -> None:
        """Stop following every group."""
        for unsubscribe in self._followed.values():
            with contextlib.suppress(Exception):
                unsubscribe()
        self._followed.clear()
