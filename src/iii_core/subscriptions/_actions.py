"""What the hub asks its binding to do, as values: send a message, run hooks, read for a sync.

Rules: each action names the connection(s) it concerns by the binding's own connection value;
actions are immutable and share the events they carry (treat those as immutable). Pure data, no
I/O.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from iii_core._generated.stream import (
    StreamChangeEvent,
    StreamGetInput,
    StreamJoinLeaveEvent,
    StreamListInput,
)

__all__ = ["Connection", "ReadSync", "Refuse", "RunJoinHooks", "RunLeaveHooks", "Send"]

Connection = TypeVar("Connection", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Send(Generic[Connection]):
    """Send ``message`` to every entry of ``connections``: a connection is listed once per
    subscription of its that matches, so it may be listed (and sent the message) more than once."""

    message: StreamChangeEvent
    connections: tuple[Connection, ...]


@dataclass(frozen=True, slots=True)
class RunJoinHooks(Generic[Connection]):
    """Run every ``stream:join`` hook with ``event``, then give all their results to
    :meth:`SubscriptionHub.admit` (a hook that failed counts as ``None``)."""

    connection: Connection
    event: StreamJoinLeaveEvent


@dataclass(frozen=True, slots=True)
class RunLeaveHooks(Generic[Connection]):
    """Run every ``stream:leave`` hook with ``event``; their results are ignored."""

    connection: Connection
    event: StreamJoinLeaveEvent


@dataclass(frozen=True, slots=True)
class Refuse(Generic[Connection]):
    """A client frame went over one of the hub's limits: close ``connection`` (policy
    violation), saying ``reason``. Nothing was recorded and no hook is to run."""

    connection: Connection
    reason: str


@dataclass(frozen=True, slots=True)
class ReadSync(Generic[Connection]):
    """Call ``function_id`` with ``request`` on the store and give the result to
    :meth:`SubscriptionHub.synced`; when the read fails, tell :meth:`SubscriptionHub.unsynced`
    (no sync is sent, and the subscription stays)."""

    connection: Connection
    subscription: StreamJoinLeaveEvent
    function_id: Literal["stream::get", "stream::list"]
    request: StreamGetInput | StreamListInput
    timestamp: int
