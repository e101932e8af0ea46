"""``SubscriptionHub``: the engine's stream socket rules as a state machine that performs no I/O.

The binding tells the hub what happened (a connection opened with its auth context, a frame
arrived, the join hooks answered, a sync read returned, a connection closed, a change event was
published) and the hub answers with what to do, as values (:mod:`._actions`).

Rules (the engine's, ``stream-state.md`` §3.3):

- A ``join`` frame asks for the ``stream:join`` hooks to run with a
  :class:`StreamJoinLeaveEvent` (snake_case, ``id`` ``null`` for a group, ``context`` the auth
  context or ``null``). If any hook returned ``unauthorized: true`` the client is sent one
  ``unauthorized`` message and nothing is recorded; otherwise the subscription is recorded
  (replacing one with the same subscription id on that connection) and the hub asks for one read,
  ``stream::get`` for an item subscription, ``stream::list`` for a group, whose result goes back
  to the client as one ``sync`` message stamped with the time the hooks answered.
- A change event reaches every subscription with the same ``streamName`` and ``groupId``; a
  subscription with an item id only events with that ``id``, a group subscription every event
  of the group (``stream::send`` events included). It is sent once per matching subscription,
  so one connection holding two matching subscriptions gets it twice. State events are never
  sent.
- A ``leave`` frame asks for the ``stream:leave`` hooks to run, even for a subscription id the
  connection does not hold, and removes the subscription. Closing a connection asks for them
  once for every subscription it still holds, in the order they were made.
- Blank and malformed frames are ignored.
- Limits (optional, an iii-core addition; ``None`` is the engine's "no limit"): a frame naming a
  subscription id, stream, group or item longer than ``max_name_bytes`` (UTF-8), or a join that
  would take a connection over ``max_subscriptions`` (a join replacing one of its own
  subscriptions never does), is refused (:class:`Refuse`): nothing is recorded and no hook runs.
- A subscription whose ``sync`` has not been sent yet holds back the change events that reach it
  and gets them right after its ``sync``, in order (an iii-core addition: a client never gets an
  event, then a ``sync`` read before that event's write). :meth:`SubscriptionHub.resync` asks
  for a fresh ``sync`` of every subscription, under the same rule, when the store says events
  may have been missed.

Time comes in as ``now_ms``; nothing here reads a clock, a socket or the store, and no input is
mutated. A hub is driven from one thread (or one event loop) at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic

from msgspec import UNSET

from iii_core._generated.stream import (
    StreamChangeEvent,
    StreamGetInput,
    StreamJoinLeaveEvent,
    StreamJoinMessage,
    StreamListInput,
)
from iii_core.subscriptions._actions import (
    Connection,
    ReadSync,
    Refuse,
    RunJoinHooks,
    RunLeaveHooks,
    Send,
)
from iii_core.subscriptions._errors import ConnectionAlreadyOpen, UnknownConnection
from iii_core.subscriptions._frames import decode_frame
from iii_core.subscriptions._messages import sync_message, unauthorized_message
from iii_core.subscriptions._verdict import join_rejected

__all__ = ["SubscriptionHub"]


def _item_id(id_field: object) -> str | None:
    """An ``id`` field as an item id: ``None`` (a group) when null or absent."""
    return id_field if isinstance(id_field, str) else None


@dataclass(slots=True)
class _Held:
    """One open connection: its auth context, its subscriptions by subscription id, and the
    events held back for those whose ``sync`` is still to be sent."""

    context: Any
    subscriptions: dict[str, StreamJoinLeaveEvent] = field(default_factory=dict)
    held_back: dict[str, list[StreamChangeEvent]] = field(default_factory=dict)


def _too_long(name: object, limit: int) -> bool:
    # A character is at most 4 bytes in UTF-8: encode only the names that might be over.
    return isinstance(name, str) and len(name) * 4 > limit and len(name.encode()) > limit


class SubscriptionHub(Generic[Connection]):
    """The subscriptions of every connection of one server.

    ``Connection`` is whatever hashable value the binding uses for a connection; it comes back
    in the actions unchanged.
    """

    def __init__(
        self, *, max_subscriptions: int | None = None, max_name_bytes: int | None = None
    ) -> None:
        self._max_subscriptions = max_subscriptions
        self._max_name_bytes = max_name_bytes
        self._connections: dict[Connection, _Held] = {}
        # Count of held-back subscriptions over all connections: delivery skips the per-entry
        # check while it is 0, which is nearly always.
        self._holding = 0
        # (stream, group) -> {(connection, subscription id): item id, None for the group}, in
        # the order the subscriptions were made: delivery looks at one group only.
        self._groups: dict[tuple[str, str], dict[tuple[Connection, str], str | None]] = {}

    # -- connections --------------------------------------------------------------------------

    def connect(self, connection: Connection, context: Any = None) -> None:
        """Open ``connection`` with the auth context its join and leave hooks will see."""
        if connection in self._connections:
            raise ConnectionAlreadyOpen(f"connection {connection!r} is already open")
        self._connections[connection] = _Held(context)

    def disconnect(self, connection: Connection) -> list[RunLeaveHooks[Connection]]:
        """Close ``connection``: leave hooks for each subscription it held (none when the hub
        does not hold it, so closing twice is harmless)."""
        held = self._connections.pop(connection, None)
        if held is None:
            return []
        self._holding -= len(held.held_back)
        for subscription in held.subscriptions.values():
            self._unindex(connection, subscription)
        return [RunLeaveHooks(connection, event) for event in held.subscriptions.values()]

    def subscriptions(self, connection: Connection) -> tuple[StreamJoinLeaveEvent, ...]:
        """The subscriptions ``connection`` holds, in the order they were made."""
        return tuple(self._held(connection).subscriptions.values())

    @property
    def groups(self) -> frozenset[tuple[str, str]]:
        """The ``(stream_name, group_id)`` pairs some subscription watches."""
        return frozenset(self._groups)

    @property
    def subscription_count(self) -> int:
        return sum(len(held.subscriptions) for held in self._connections.values())

    # -- frames from a client -----------------------------------------------------------------

    def receive(
        self, connection: Connection, frame: bytes | bytearray | memoryview | str
    ) -> RunJoinHooks[Connection] | RunLeaveHooks[Connection] | Refuse[Connection] | None:
        """A frame from ``connection``'s client: the hooks to run, ``None`` when the frame is
        ignored, or :class:`Refuse` when it goes over a limit."""
        held = self._held(connection)
        request = decode_frame(frame)
        if request is None:
            return None
        data = request.data
        limit = self._max_name_bytes
        if limit is not None and any(
            _too_long(name, limit)
            for name in (data.subscription_id, data.stream_name, data.group_id, data.id)
        ):
            return Refuse(connection, f"a name is longer than {limit} bytes")
        if (
            isinstance(request, StreamJoinMessage)
            and self._max_subscriptions is not None
            and len(held.subscriptions) >= self._max_subscriptions
            and data.subscription_id not in held.subscriptions
        ):
            return Refuse(
                connection, f"over {self._max_subscriptions} subscriptions on one connection"
            )
        event = StreamJoinLeaveEvent(
            subscription_id=data.subscription_id,
            stream_name=data.stream_name,
            group_id=data.group_id,
            id=None if data.id is UNSET else data.id,
            context=held.context,
        )
        if isinstance(request, StreamJoinMessage):
            return RunJoinHooks(connection, event)
        self._drop(connection, held, data.subscription_id)
        return RunLeaveHooks(connection, event)

    def admit(
        self, join: RunJoinHooks[Connection], hook_results: Iterable[Any], now_ms: int
    ) -> Send[Connection] | ReadSync[Connection] | None:
        """The join hooks answered ``hook_results``: the ``unauthorized`` message to send, or the
        read whose result is the subscription's sync (``None`` when the connection has closed
        meanwhile)."""
        connection, subscription = join.connection, join.event
        held = self._connections.get(connection)
        if held is None:
            return None
        if join_rejected(hook_results):
            return Send(unauthorized_message(subscription, now_ms), (connection,))
        self._drop(connection, held, subscription.subscription_id)
        held.subscriptions[subscription.subscription_id] = subscription
        group = self._groups.setdefault((subscription.stream_name, subscription.group_id), {})
        group[(connection, subscription.subscription_id)] = _item_id(subscription.id)
        return self._read_sync(connection, held, subscription, now_ms)

    def _read_sync(
        self,
        connection: Connection,
        held: _Held,
        subscription: StreamJoinLeaveEvent,
        now_ms: int,
    ) -> ReadSync[Connection]:
        """The read for ``subscription``'s sync; its events are held back until then."""
        if subscription.subscription_id not in held.held_back:
            held.held_back[subscription.subscription_id] = []
            self._holding += 1
        item_id = _item_id(subscription.id)
        if item_id is None:
            return ReadSync(
                connection,
                subscription,
                "stream::list",
                StreamListInput(
                    stream_name=subscription.stream_name, group_id=subscription.group_id
                ),
                now_ms,
            )
        return ReadSync(
            connection,
            subscription,
            "stream::get",
            StreamGetInput(
                stream_name=subscription.stream_name,
                group_id=subscription.group_id,
                item_id=item_id,
            ),
            now_ms,
        )

    def synced(self, read: ReadSync[Connection], data: Any) -> list[Send[Connection]]:
        """The sync read returned ``data`` (``None`` for a missing item): the ``sync`` message,
        then the events held back meanwhile; nothing when the subscription has been left,
        replaced or closed meanwhile."""
        return self._release(read, sync_message(read.subscription, read.timestamp, data))

    def unsynced(self, read: ReadSync[Connection]) -> list[Send[Connection]]:
        """The sync read failed: no sync, and the subscription (which stays) gets the events
        held back meanwhile."""
        return self._release(read, None)

    def resync(self, now_ms: int) -> list[ReadSync[Connection]]:
        """A fresh sync for every subscription of every connection, in the order they were
        made, each holding back its events until its sync is sent (the store may have lost
        events: each client's state is read again)."""
        return [
            self._read_sync(connection, held, subscription, now_ms)
            for connection, held in self._connections.items()
            for subscription in held.subscriptions.values()
        ]

    def _release(
        self, read: ReadSync[Connection], sync: StreamChangeEvent | None
    ) -> list[Send[Connection]]:
        connection, subscription = read.connection, read.subscription
        held = self._connections.get(connection)
        if held is None or held.subscriptions.get(subscription.subscription_id) is not subscription:
            return []
        events = held.held_back.pop(subscription.subscription_id, None)
        if events is not None:
            self._holding -= 1
        messages = ([] if sync is None else [sync]) + (events or [])
        return [Send(message, (connection,)) for message in messages]

    # -- change events ------------------------------------------------------------------------

    def publish(self, event: Any) -> Send[Connection] | None:
        """A change event from the store: the connections to send it to, one entry per matching
        subscription (``None`` when nobody matches, and for anything but a stream event)."""
        if not isinstance(event, StreamChangeEvent):
            return None
        group = self._groups.get((event.stream_name, event.group_id))
        if not group:
            return None
        item_id = _item_id(event.id)
        if self._holding:
            return self._publish_holding(event, group, item_id)
        recipients = tuple(
            connection
            for (connection, _), wanted in group.items()
            if wanted is None or wanted == item_id
        )
        return Send(event, recipients) if recipients else None

    def _publish_holding(
        self,
        event: StreamChangeEvent,
        group: dict[tuple[Connection, str], str | None],
        item_id: str | None,
    ) -> Send[Connection] | None:
        recipients = []
        for (connection, subscription_id), wanted in group.items():
            if wanted is None or wanted == item_id:
                held_back = self._connections[connection].held_back.get(subscription_id)
                if held_back is None:
                    recipients.append(connection)
                else:
                    held_back.append(event)
        return Send(event, tuple(recipients)) if recipients else None

    # -- internals ----------------------------------------------------------------------------

    def _held(self, connection: Connection) -> _Held:
        held = self._connections.get(connection)
        if held is None:
            raise UnknownConnection(f"connection {connection!r} is not open")
        return held

    def _drop(self, connection: Connection, held: _Held, subscription_id: str) -> None:
        """Forget the subscription ``subscription_id`` of ``connection``, if it holds one."""
        previous = held.subscriptions.pop(subscription_id, None)
        if previous is not None:
            self._unindex(connection, previous)
        if held.held_back.pop(subscription_id, None) is not None:
            self._holding -= 1

    def _unindex(self, connection: Connection, subscription: StreamJoinLeaveEvent) -> None:
        key = (subscription.stream_name, subscription.group_id)
        group = self._groups[key]
        del group[(connection, subscription.subscription_id)]
        if not group:
            del self._groups[key]
