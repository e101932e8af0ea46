"""What a store's listener does with what it hears, without the hearing: the sans-I/O half of
receiving change events from Redis.

Rules: an :class:`EventInbox` keeps this process's subscriptions (trigger configs and handlers)
in a :class:`~iii_core.backends._event_routing.RouteTable`, says which channels to start and
stop listening on as subscriptions come and go, and turns one received message into the
``(handler, event)`` pairs to run. A message is decoded only when some subscription is its
audience (a route channel's own subscribers, a firehose's wide ones; an iii-core copy on the
engine channel is skipped by its prefix), so a process decodes none of the events of a group it
does not serve; the counts of messages received and decoded say so (``/stats``). A message on
the engine channel is read as the engine's ``StreamWrapperMessage``; any other as iii-core's
change event JSON; a message that is neither is counted as ignored, never raised.
``sync_events`` markers (:data:`MARKER_PREFIX` + a token, not JSON so never mistaken for an
event) are answered here too. No I/O, no clock, no locks: the pump that owns an inbox
serialises calls (the sync store with a lock, the async one on its loop).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from iii_core._generated.state import StateChangeEvent
from iii_core._generated.stream import StreamChangeEvent
from iii_core._json import loads
from iii_core.backends._engine_channel import (
    ENGINE_CHANNEL,
    decode_engine_message,
    is_own_copy,
)
from iii_core.backends._event_routing import ROUTE_PREFIX, ChannelChanges, RouteTable
from iii_core.backends._subscribers import (
    ChangeEvent,
    EventHandler,
    RateLimitedWarning,
    ResyncHandler,
    TriggerConfig,
    _matches,
)

__all__ = ["MARKER_CHANNEL", "MARKER_PREFIX", "EventCounts", "EventInbox", "decode_event"]

log = logging.getLogger("iii_core.backends.redis")

MARKER_PREFIX: Final = b"iii-core:sync:"
# The classic channel markers travel on (never an event channel, so no reader of those sees
# them); a listener listens on it whenever it listens on anything.
MARKER_CHANNEL: Final = "iii-core:sync"

_EVENT_TYPES: Final[dict[str, type[ChangeEvent]]] = {
    "stream": StreamChangeEvent,
    "state": StateChangeEvent,
}


def decode_event(data: bytes) -> ChangeEvent | None:
    """An iii-core change event (the generated event type's JSON), or ``None``."""
    try:
        raw = loads(data, max_depth=None)  # serde_json's number rules, as the engine reads
        return msgspec.convert(raw, _EVENT_TYPES[raw["type"]])
    except Exception:  # any message at all (nested 100,000 deep, of any shape) is just not one
        return None


@dataclass
class EventCounts:
    """Messages this process received from Redis, decoded, and found to be no change event;
    and handler calls made. ``received - decoded - ignored`` were skipped undecoded."""

    received: int = 0
    decoded: int = 0
    ignored: int = 0
    delivered: int = 0


class EventInbox:
    """Subscriptions, the channels they need, and what each received message is for."""

    def __init__(self, *, engine_channel: bool, cluster: bool = False) -> None:
        self.cluster = cluster
        self.routes = RouteTable(engine_channel=engine_channel)
        self.counts = EventCounts()
        # One report per minute at most, per store, of messages that are no change event.
        self._warn_ignored = RateLimitedWarning("ignored a message that is not a change event")
        self._handlers: dict[int, tuple[TriggerConfig | None, EventHandler]] = {}
        self._resync: dict[int, ResyncHandler] = {}
        self._pending: set[int] = set()
        self._tokens = itertools.count()
        self._markers: dict[bytes, Callable[[], None]] = {}

    @property
    def channels(self) -> frozenset[str]:
        """The channels to listen on: the subscriptions', and the marker channel beside any
        classic one (on a cluster, markers for shard channels go on those channels)."""
        channels = self.routes.channels
        if self.cluster and all(channel.startswith(ROUTE_PREFIX) for channel in channels):
            return channels
        return channels | {MARKER_CHANNEL} if channels else channels

    def add(
        self,
        config: TriggerConfig | None,
        handler: EventHandler,
        *,
        on_resync: ResyncHandler | None = None,
        active: bool = True,
    ) -> tuple[int, ChannelChanges]:
        """Register a subscription (``config`` ``None``: every event; ``on_resync`` called when
        events may have been missed); returns its token and the channels to start listening
        on. An inactive one gets nothing until :meth:`activate`."""
        token = next(self._tokens)
        self._handlers[token] = (config, handler)
        if on_resync is not None:
            self._resync[token] = on_resync
        if not active:
            self._pending.add(token)
        return token, self.routes.add(token, config)

    def activate(self, token: int) -> None:
        self._pending.discard(token)

    def remove(self, token: int) -> ChannelChanges:
        """Drop a subscription; returns the channels to stop listening on."""
        self._handlers.pop(token, None)
        self._resync.pop(token, None)
        self._pending.discard(token)
        return self.routes.remove(token)

    def resync_calls(self) -> list[ResyncHandler]:
        """The resync handlers of the live subscriptions, in subscription order."""
        return [self._resync[token] for token in sorted(self._resync)]

    def expect_marker(self, marker: bytes, seen: Callable[[], None]) -> None:
        self._markers[marker] = seen

    def forget_marker(self, marker: bytes) -> None:
        self._markers.pop(marker, None)

    def receive(self, channel: str, data: bytes) -> list[tuple[EventHandler, ChangeEvent]]:
        """The handler calls one message on ``channel`` asks for, in subscription order."""
        if channel == MARKER_CHANNEL or data.startswith(MARKER_PREFIX):
            seen = self._markers.get(data)
            if seen is not None:
                seen()
            return []
        self.counts.received += 1
        audience = self.routes.audience(
            channel, own_copy=channel == ENGINE_CHANNEL and is_own_copy(data)
        )
        if not audience:
            return []
        self.counts.decoded += 1
        event = decode_engine_message(data) if channel == ENGINE_CHANNEL else decode_event(data)
        if event is None:
            self.counts.ignored += 1
            self._warn_ignored(f"on {channel!r}: {bytes(data[:200])!r}")
            return []
        calls = []
        for token in sorted(audience):
            entry = self._handlers.get(token)
            if entry is not None and token not in self._pending and _matches(entry[0], event):
                calls.append((entry[1], event))
        self.counts.delivered += len(calls)
        return calls

    def snapshot(self) -> dict[str, Any]:
        """The counts and the number of channels listened on, as JSON."""
        counts = self.counts
        return {
            "events_received": counts.received,
            "events_decoded": counts.decoded,
            "events_ignored": counts.ignored,
            "events_delivered": counts.delivered,
            "channels": len(self.routes.channels),
        }
