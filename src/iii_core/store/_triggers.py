"""Trigger matching: does a ``stream`` / ``state`` trigger config match a change event.

Rules (the engine's): a stream trigger needs ``stream_name`` exactly equal (a config without one
never matches: the engine cannot even register it); ``group_id`` and ``item_id`` absent, null or
``""`` match anything, otherwise exact equality, with a null event ``id`` compared as ``""``. A
state trigger's ``scope`` and ``key`` absent or null match anything, otherwise exact equality:
``""`` is NOT a wildcard there. Conditions (``condition_function_id``) are function calls, so they
belong to the caller. Pure, no I/O.
"""

from __future__ import annotations

from typing import Any

from msgspec import UNSET

from iii_core._generated.state import StateChangeEvent, StateTriggerConfig
from iii_core._generated.stream import StreamChangeEvent, StreamTriggerConfig

__all__ = ["state_trigger_matches", "stream_trigger_matches"]


def _wildcard_or_equal(wanted: Any, actual: str) -> bool:
    return wanted is UNSET or wanted is None or wanted in ("", actual)


def stream_trigger_matches(config: StreamTriggerConfig, event: StreamChangeEvent) -> bool:
    """Whether a ``stream`` trigger with ``config`` fires for ``event``."""
    stream_name = config.stream_name
    if stream_name is UNSET or stream_name is None or stream_name != event.stream_name:
        return False
    if not _wildcard_or_equal(config.group_id, event.group_id):
        return False
    item_id = event.id
    return _wildcard_or_equal(
        config.item_id, "" if item_id is UNSET or item_id is None else item_id
    )


def state_trigger_matches(config: StateTriggerConfig, event: StateChangeEvent) -> bool:
    """Whether a ``state`` trigger with ``config`` fires for ``event``."""
    scope, key = config.scope, config.key
    if scope is not UNSET and scope is not None and scope != event.scope:
        return False
    return key is UNSET or key is None or key == event.key
