"""Per-group event routing: which channel each change event goes to, which channels a process
listens on for its local subscriptions, and which subscriptions a received message is for.

Rules:

- **Route channels.** Every change event goes to the channel of the hash its item lives in
  (:func:`route_channel`): one per stream group (``stream:{stream}:{group}``), one per state
  scope (``state:{scope}``). On a Redis Cluster it is a shard channel (``SPUBLISH``) named so that
  it hashes to the same slot as that hash: the write script publishes it on the shard that owns
  the group, and the message never crosses the cluster bus. The channel embeds the hash key
  inside a hash tag (``iii-core:events:{stream:chat:room}``), followed by ``:`` and the key when
  the tag is only part of it (a key with a hash tag of its own). For a key whose hashed part
  contains ``}`` (no valid hash tag, a ``}`` in it), the tag is the smallest decimal number that
  hashes to the key's slot. Either way a channel names exactly one hash.
- **Firehoses.** Subscriptions that cannot be narrowed to routes — stream triggers naming no
  group, state triggers naming no scope, and :meth:`watch` (every event) — listen on a firehose:
  the engine's ``stream::events`` for stream events when the engine channel is on (iii-core
  publishes its copy there anyway), else :data:`FIREHOSE`, a classic channel that also carries
  every state event. Listening on a firehose means decoding every event of its kind, fleet-wide:
  that is the cost of ``watch``.
- **Exactly once.** A subscription receives a given change from one channel only: a narrow
  subscription from its route (iii-core's writes) or, for stream events with the engine channel
  on, from ``stream::events`` when the engine wrote it (iii-core's own copies there, recognised
  by their prefix, are not for it); a wide one from its firehose. :meth:`RouteTable.audience`
  says which subscriptions a message is for, so nobody else's handlers run and nothing decodes a
  message with no audience.
- :class:`RouteTable` is the bookkeeping as a pure state machine: ``add``/``remove`` return the
  channels to start and stop listening on (reference counted), so a process listens exactly on
  the channels its live subscriptions need. No I/O, no locks (its owner serialises calls).
"""

from __future__ import annotations

import binascii
import functools
import itertools
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Final, NamedTuple

import msgspec
from msgspec import UNSET

from iii_core._generated.state import StateChangeEvent, StateListInput, StateTriggerConfig
from iii_core._generated.stream import StreamChangeEvent, StreamListInput, StreamTriggerConfig
from iii_core.backends._engine_channel import ENGINE_CHANNEL, encode_engine_message
from iii_core.store import list_hash_key

__all__ = [
    "FIREHOSE",
    "ROUTE_PREFIX",
    "SLOTS",
    "ChannelChanges",
    "Publication",
    "RouteTable",
    "event_route",
    "hashed_part",
    "key_slot",
    "needed_channels",
    "publications",
    "publish_commands",
    "route_channel",
]

ROUTE_PREFIX: Final = "iii-core:events:"
FIREHOSE: Final = "iii-core:events"
SLOTS: Final = 16384

_encoder = msgspec.json.Encoder()

ChangeEvent = StreamChangeEvent | StateChangeEvent
Config = StreamTriggerConfig | StateTriggerConfig | None


def hashed_part(key: str) -> str:
    """The part of ``key`` Redis Cluster hashes: the text between the first ``{`` and the next
    ``}`` when that is not empty, else the whole key."""
    start = key.find("{")
    if start >= 0:
        end = key.find("}", start + 1)
        if end > start + 1:
            return key[start + 1 : end]
    return key


def key_slot(key: str) -> int:
    """The cluster slot of ``key`` (CRC16-XMODEM of its hashed part, UTF-8, mod 16384)."""
    return binascii.crc_hqx(hashed_part(key).encode(), 0) % SLOTS


@functools.cache
def _slot_tags() -> tuple[str, ...]:
    """For each slot, the smallest decimal number whose text hashes to it: built once, on the
    first key that needs it (one pass over the numbers below 110,000, a few milliseconds)."""
    tags: dict[int, str] = {}
    for number in itertools.count():
        text = str(number)
        tags.setdefault(binascii.crc_hqx(text.encode(), 0) % SLOTS, text)
        if len(tags) == SLOTS:
            return tuple(tags[slot] for slot in range(SLOTS))
    raise AssertionError("unreachable")  # pragma: no cover - count() never ends


def _slot_tag(slot: int) -> str:
    return _slot_tags()[slot]


def route_channel(hash_key: str) -> str:
    """The channel of the events of the items in hash ``hash_key``; same slot as the key."""
    part = hashed_part(hash_key)
    if "}" not in part:
        tag = "{" + part + "}"
        return ROUTE_PREFIX + tag if part == hash_key else ROUTE_PREFIX + tag + ":" + hash_key
    return ROUTE_PREFIX + "{" + _slot_tag(key_slot(hash_key)) + "}:" + hash_key


def _group_route(stream_name: str, group_id: str) -> str:
    return route_channel(list_hash_key(StreamListInput(stream_name=stream_name, group_id=group_id)))


def _scope_route(scope: str) -> str:
    return route_channel(list_hash_key(StateListInput(scope=scope)))


def event_route(event: ChangeEvent) -> str:
    """The route channel an event is published on: its group's, or its scope's."""
    if isinstance(event, StreamChangeEvent):
        return _group_route(event.stream_name, event.group_id)
    return _scope_route(event.scope)


class Publication(NamedTuple):
    """One message a write publishes: on ``channel`` — a shard channel on a cluster when
    ``sharded`` —, the event in the engine's ``StreamWrapperMessage`` form when
    ``engine_format``, else in iii-core's (the generated event type's JSON)."""

    channel: str
    sharded: bool
    engine_format: bool


def publications(event: ChangeEvent, *, engine_channel: bool) -> tuple[Publication, ...]:
    """Where an iii-core write publishes ``event``: its route, and the firehose of its kind."""
    route = Publication(event_route(event), True, False)
    if isinstance(event, StreamChangeEvent) and engine_channel:
        return (route, Publication(ENGINE_CHANNEL, False, True))
    return (route, Publication(FIREHOSE, False, False))


def publish_commands(
    events: Iterable[ChangeEvent], *, engine_channel: bool, cluster: bool
) -> list[tuple[str, str, bytes]]:
    """``(command, channel, message)`` for every publication of ``events``, in order: route
    channels with ``SPUBLISH`` on a cluster (``PUBLISH`` on one Redis, which also serves Redis 6),
    firehoses with ``PUBLISH``."""
    commands = []
    for event in events:
        for publication in publications(event, engine_channel=engine_channel):
            command = "SPUBLISH" if cluster and publication.sharded else "PUBLISH"
            message = (
                encode_engine_message(event)  # type: ignore[arg-type] # only stream events
                if publication.engine_format
                else _encoder.encode(event)
            )
            commands.append((command, publication.channel, message))
    return commands


def _named(value: object) -> bool:
    return value is not UNSET and value is not None


class _Interest(NamedTuple):
    """What one subscription listens to: its route (if narrow), whether it is wide for streams
    and for state, and whether it wants the engine's own stream writes on their route."""

    route: str | None
    wide_stream: bool
    wide_state: bool
    engine_writes: bool


def _interest(config: Config, engine_channel: bool) -> _Interest:
    if config is None:
        return _Interest(None, True, True, False)
    if isinstance(config, StreamTriggerConfig):
        if not _named(config.stream_name):
            # Never matches (the engine cannot register it): listens to nothing.
            return _Interest(None, False, False, False)
        group = config.group_id
        if not _named(group) or group == "":
            return _Interest(None, True, False, False)
        route = _group_route(str(config.stream_name), str(group))
        return _Interest(route, False, False, engine_channel)
    if not _named(config.scope):
        return _Interest(None, False, True, False)
    return _Interest(_scope_route(str(config.scope)), False, False, False)


def _channels(interest: _Interest, engine_channel: bool) -> frozenset[str]:
    channels: set[str] = set()
    if interest.route is not None:
        channels.add(interest.route)
    if interest.wide_stream or interest.engine_writes:
        channels.add(ENGINE_CHANNEL if engine_channel else FIREHOSE)
    if interest.wide_state:
        channels.add(FIREHOSE)
    return frozenset(channels)


def needed_channels(config: Config, *, engine_channel: bool) -> frozenset[str]:
    """The channels a subscription with ``config`` (``None``: watch) needs."""
    return _channels(_interest(config, engine_channel), engine_channel)


class ChannelChanges(NamedTuple):
    """Channels to start listening on and to stop listening on, each sorted."""

    subscribe: tuple[str, ...]
    unsubscribe: tuple[str, ...]


class RouteTable:
    """The live subscriptions of one store (by token) and the channels they need."""

    def __init__(self, *, engine_channel: bool) -> None:
        self.engine_channel = engine_channel
        self._interests: dict[int, _Interest] = {}
        self._listeners: Counter[str] = Counter()
        self._routes: dict[str, set[int]] = {}

    @property
    def channels(self) -> frozenset[str]:
        """Every channel some live subscription needs."""
        return frozenset(self._listeners)

    def add(self, token: int, config: Config) -> ChannelChanges:
        """Register subscription ``token``; raises ``KeyError`` if it is already live."""
        if token in self._interests:
            raise KeyError(f"subscription {token} is already registered")
        interest = _interest(config, self.engine_channel)
        self._interests[token] = interest
        if interest.route is not None:
            self._routes.setdefault(interest.route, set()).add(token)
        started = []
        for channel in _channels(interest, self.engine_channel):
            self._listeners[channel] += 1
            if self._listeners[channel] == 1:
                started.append(channel)
        return ChannelChanges(tuple(sorted(started)), ())

    def remove(self, token: int) -> ChannelChanges:
        """Forget subscription ``token`` (a token not live changes nothing)."""
        interest = self._interests.pop(token, None)
        if interest is None:
            return ChannelChanges((), ())
        if interest.route is not None:
            tokens = self._routes[interest.route]
            tokens.discard(token)
            if not tokens:
                del self._routes[interest.route]
        stopped = []
        for channel in _channels(interest, self.engine_channel):
            self._listeners[channel] -= 1
            if self._listeners[channel] == 0:
                del self._listeners[channel]
                stopped.append(channel)
        return ChannelChanges((), tuple(sorted(stopped)))

    def audience(self, channel: str, *, own_copy: bool = False) -> frozenset[int]:
        """The subscriptions a message received on ``channel`` is for (``own_copy``: an
        iii-core copy on the engine channel). Empty: the message need not even be decoded."""
        routed = self._routes.get(channel)
        if routed is not None:
            return frozenset(routed)
        if channel == ENGINE_CHANNEL and self.engine_channel:
            return self._matching(
                lambda interest: interest.wide_stream or (interest.engine_writes and not own_copy)
            )
        if channel == FIREHOSE:
            stream_too = not self.engine_channel
            return self._matching(
                lambda interest: interest.wide_state or (stream_too and interest.wide_stream)
            )
        return frozenset()

    def _matching(self, wanted: Callable[[_Interest], bool]) -> frozenset[int]:
        return frozenset(token for token, interest in self._interests.items() if wanted(interest))
