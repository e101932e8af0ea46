"""The subscriptions of one store object: trigger configs (or none, for ``watch``), handlers
and resync callbacks.

Rules: matching uses the core's trigger rules; the registry is thread-safe; delivering never
raises, because a failing handler must not affect the write, the listener or the other
handlers (the engine only logs a failing trigger handler). Each handler gets its own copy of
an event unless it was registered with ``private_copies=False`` (it promises not to mutate).
A *resync* tells every subscriber that events may have been missed (the store's pub/sub
connection dropped); what to do about it is the subscriber's business.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from iii_core._generated.state import StateChangeEvent, StateTriggerConfig
from iii_core._generated.stream import StreamChangeEvent, StreamTriggerConfig
from iii_core.backends._boundary import copy_event
from iii_core.store import ChangeEvent, state_trigger_matches, stream_trigger_matches

__all__ = [
    "ChangeEvent",
    "EventHandler",
    "RateLimitedWarning",
    "ResyncHandler",
    "Subscribers",
    "Subscription",
    "TriggerConfig",
    "run_async",
]

log = logging.getLogger("iii_core.backends")

TriggerConfig = StreamTriggerConfig | StateTriggerConfig
EventHandler = Callable[[ChangeEvent], Any]
ResyncHandler = Callable[[], Any]


def _matches(config: TriggerConfig | None, event: ChangeEvent) -> bool:
    if config is None:
        return True
    if isinstance(config, StreamTriggerConfig):
        return isinstance(event, StreamChangeEvent) and stream_trigger_matches(config, event)
    return isinstance(event, StateChangeEvent) and state_trigger_matches(config, event)


@dataclass(frozen=True, slots=True)
class Subscription:
    config: TriggerConfig | None
    handler: EventHandler
    on_resync: ResyncHandler | None
    private_copies: bool


class RateLimitedWarning:
    """A warning logged at most once per ``interval`` seconds, with the count of the ones
    left out, so that a flood of bad messages cannot flood the log."""

    def __init__(self, message: str, interval: float = 60.0) -> None:
        self._message = message
        self._interval = interval
        self._last = -interval
        self._skipped = 0
        self._lock = threading.Lock()

    def __call__(self, detail: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < self._interval:
                self._skipped += 1
                return
            skipped, self._skipped, self._last = self._skipped, 0, now
        more = f" ({skipped} more since the last report)" if skipped else ""
        log.warning("%s: %s%s", self._message, detail, more)


class Subscribers:
    def __init__(self) -> None:
        self._entries: dict[int, Subscription] = {}
        self._lock = threading.Lock()
        self._next = 0

    def add(
        self,
        config: TriggerConfig | None,
        handler: EventHandler,
        *,
        on_resync: ResyncHandler | None = None,
        private_copies: bool = True,
    ) -> Callable[[], None]:
        with self._lock:
            token = self._next
            self._next += 1
            self._entries[token] = Subscription(config, handler, on_resync, private_copies)

        def unsubscribe() -> None:
            with self._lock:
                self._entries.pop(token, None)

        return unsubscribe

    def __bool__(self) -> bool:
        return bool(self._entries)

    def _snapshot(self) -> list[Subscription]:
        with self._lock:
            return list(self._entries.values())

    def calls(self, event: ChangeEvent) -> list[Callable[[], Any]]:
        """The handler calls ``event`` makes, in subscription order, each with its copy."""
        return [
            _bind(entry.handler, copy_event(event) if entry.private_copies else event)
            for entry in self._snapshot()
            if _matches(entry.config, event)
        ]

    def resync_calls(self) -> list[ResyncHandler]:
        return [entry.on_resync for entry in self._snapshot() if entry.on_resync is not None]

    def deliver(self, events: tuple[ChangeEvent, ...]) -> None:
        """Run the matching handlers (synchronous ones) of every event, in order."""
        if not self._entries:
            return
        for event in events:
            for call in self.calls(event):
                _run(call, "change event handler failed")

    def resync(self) -> None:
        for call in self.resync_calls():
            _run(call, "resync handler failed")


def _bind(handler: EventHandler, event: ChangeEvent) -> Callable[[], Any]:
    return lambda: handler(event)


def _run(call: Callable[[], Any], failure: str) -> Any:
    try:
        return call()
    except Exception:
        log.exception(failure)
        return None


async def run_async(call: Callable[[], Any], failure: str) -> None:
    """Run a handler that may return an awaitable, and await it; never raises."""
    try:
        outcome = call()
        if isinstance(outcome, Awaitable):
            await outcome
    except Exception:
        log.exception(failure)
