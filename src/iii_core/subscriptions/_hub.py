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
    """One open connection: its auth context and its subscriptions by subscription id."""

    context: Any
    subscriptions: dict[str, StreamJoinLeaveEvent] = field(default_factory=dict)


class SubscriptionHub(Generic[Connection]):
    """The subscriptions of every connection of one server.

    ``Connection`` is whatever hashable value the binding uses for a connection; it comes back
    in the actions unchanged.
    """

    def __init__(self) -> None:
        self._connections: dict[Connection, _Held] = {}
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
        for subscription in held.subscriptions.values():
            self._unindex(connection, subscription)
        return [RunLeaveHooks(connection, event) for event in held.subscriptions.values()]

    def subscriptions(self, connection: Connection) -> tuple[StreamJoinLeaveEvent, ...]:
        """The subscriptions ``connection`` holds, in the order they were made."""
        return tuple(self._held(connection).subscriptions.values())

    @property
    def subscription_count(self) -> int:
        return sum(len(held.subscriptions) for held in self._connections.values())

    # -- frames from a client -----------------------------------------------------------------

    def receive(
        self, connection: Connection, frame: bytes | bytearray | memoryview | str
    ) -> RunJoinHooks[Connection] | RunLeaveHooks[Connection] | None:
        """A frame from ``connection``'s client: the hooks to run, or ``None`` when the frame is
        ignored."""
        held = self._held(connection)
        request = decode_frame(frame)
        if request is None:
            return None
        data = request.data
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
        item_id = _item_id(subscription.id)
        group[(connection, subscription.subscription_id)] = item_id
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

    def synced(self, read: ReadSync[Connection], data: Any) -> Send[Connection] | None:
        """The sync read returned ``data`` (``None`` for a missing item): the ``sync`` message,
        unless the subscription has been left, replaced or closed meanwhile."""
        held = self._connections.get(read.connection)
        subscription = read.subscription
        if held is None or held.subscriptions.get(subscription.subscription_id) is not subscription:
            return None
        return Send(sync_message(subscription, read.timestamp, data), (read.connection,))

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
        recipients = tuple(
            connection
            for (connection, _), wanted in group.items()
            if wanted is None or wanted == item_id
        )
        return Send(event, recipients) if recipients else None

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

    def _unindex(self, connection: Connection, subscription: StreamJoinLeaveEvent) -> None:
        key = (subscription.stream_name, subscription.group_id)
        group = self._groups[key]
        del group[(connection, subscription.subscription_id)]
        if not group:
            del self._groups[key]
