"""The subscriptions of one store object: trigger configs (or none, for ``watch``) and handlers.

Rules: matching uses the core's trigger rules; the registry is thread-safe; delivering never
raises, because a failing handler must not affect the write or the other handlers (the engine
only logs a failing trigger handler).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from iii_core._generated.state import StateChangeEvent, StateTriggerConfig
from iii_core._generated.stream import StreamChangeEvent, StreamTriggerConfig
from iii_core.store import state_trigger_matches, stream_trigger_matches

__all__ = ["ChangeEvent", "EventHandler", "Subscribers", "TriggerConfig"]

log = logging.getLogger("iii_core.backends")

ChangeEvent = StreamChangeEvent | StateChangeEvent
TriggerConfig = StreamTriggerConfig | StateTriggerConfig
EventHandler = Callable[[ChangeEvent], Any]


def _matches(config: TriggerConfig | None, event: ChangeEvent) -> bool:
    if config is None:
        return True
    if isinstance(config, StreamTriggerConfig):
        return isinstance(event, StreamChangeEvent) and stream_trigger_matches(config, event)
    return isinstance(event, StateChangeEvent) and state_trigger_matches(config, event)


class Subscribers:
    def __init__(self) -> None:
        self._entries: dict[int, tuple[TriggerConfig | None, EventHandler]] = {}
        self._lock = threading.Lock()
        self._next = 0

    def add(self, config: TriggerConfig | None, handler: EventHandler) -> Callable[[], None]:
        with self._lock:
            token = self._next
            self._next += 1
            self._entries[token] = (config, handler)

        def unsubscribe() -> None:
            with self._lock:
                self._entries.pop(token, None)

        return unsubscribe

    def matching(self, event: ChangeEvent) -> list[EventHandler]:
        with self._lock:
            entries = list(self._entries.values())
        return [handler for config, handler in entries if _matches(config, event)]

    def deliver(self, events: tuple[ChangeEvent, ...]) -> None:
        for event in events:
            for handler in self.matching(event):
                try:
                    handler(event)
                except Exception:
                    log.exception("change event handler failed")
