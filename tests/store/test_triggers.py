"""Trigger matching tables: stream ('' is a wildcard) against state ('' is a value)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from iii_core._generated.state import StateChangeEvent, StateTriggerConfig
from iii_core._generated.stream import StreamChangeEvent, StreamTriggerConfig
from iii_core.store import (
    decode_call,
    state_trigger_matches,
    stream_trigger_matches,
    transition,
)
from iii_core.update import MISSING


def stream_event(group_id: str = "g1", item_id: str | None = "i2") -> StreamChangeEvent:
    return msgspec.convert(
        {
            "type": "stream",
            "timestamp": 1,
            "streamName": "events",
            "groupId": group_id,
            "id": item_id,
            "event": {"type": "create", "data": None},
        },
        StreamChangeEvent,
    )


def state_event(scope: str = "orders", key: str = "o1") -> StateChangeEvent:
    return msgspec.convert(
        {
            "type": "state",
            "event_type": "state:updated",
            "scope": scope,
            "key": key,
            "old_value": 1,
            "new_value": 2,
        },
        StateChangeEvent,
    )


@pytest.mark.parametrize(
    ("config", "event", "fires"),
    [
        ({"stream_name": "events"}, stream_event(), True),
        ({"stream_name": "events", "group_id": "g1"}, stream_event(), True),
        ({"stream_name": "events", "group_id": "g1", "item_id": "i1"}, stream_event(), False),
        ({"stream_name": "events", "group_id": "g1", "item_id": "i2"}, stream_event(), True),
        ({"stream_name": "events", "group_id": ""}, stream_event(), True),
        ({"stream_name": "events", "group_id": None, "item_id": None}, stream_event(), True),
        ({"stream_name": "events", "item_id": ""}, stream_event(), True),
        ({"stream_name": "other"}, stream_event(), False),
        ({"stream_name": "events", "group_id": "g2"}, stream_event(), False),
        ({"stream_name": "Events"}, stream_event(), False),
        # A null event id compares as "": only a wildcard item_id matches it.
        ({"stream_name": "events", "item_id": "i1"}, stream_event(item_id=None), False),
        ({"stream_name": "events", "item_id": ""}, stream_event(item_id=None), True),
        ({"stream_name": "events"}, stream_event(item_id=None), True),
        # An empty group id on the event still needs a wildcard or "" config.
        ({"stream_name": "events", "group_id": "g1"}, stream_event(group_id=""), False),
        ({"stream_name": "events", "group_id": ""}, stream_event(group_id=""), True),
        # No stream_name: the engine cannot register it, so it never fires.
        ({}, stream_event(), False),
        ({"stream_name": None}, stream_event(), False),
        ({"stream_name": ""}, stream_event(), False),
    ],
)
def test_stream_trigger_table(
    config: dict[str, Any], event: StreamChangeEvent, fires: bool
) -> None:
    assert stream_trigger_matches(msgspec.convert(config, StreamTriggerConfig), event) is fires


@pytest.mark.parametrize(
    ("config", "event", "fires"),
    [
        ({}, state_event(), True),
        ({"scope": "orders"}, state_event(), True),
        ({"scope": "users"}, state_event(), False),
        ({"key": "o1"}, state_event(), True),
        ({"scope": "orders", "key": "o2"}, state_event(), False),
        ({"scope": "orders", "key": "o1"}, state_event(), True),
        ({"scope": None, "key": None}, state_event(), True),
        # "" is not a wildcard for state triggers: it matches only an empty scope or key.
        ({"scope": ""}, state_event(), False),
        ({"key": ""}, state_event(), False),
        ({"scope": ""}, state_event(scope=""), True),
        ({"scope": "", "key": ""}, state_event(scope="", key=""), True),
    ],
)
def test_state_trigger_table(config: dict[str, Any], event: StateChangeEvent, fires: bool) -> None:
    assert state_trigger_matches(msgspec.convert(config, StateTriggerConfig), event) is fires


def test_send_events_match_like_item_events() -> None:
    send = decode_call(
        "stream::send", {"stream_name": "events", "group_id": "g1", "type": "t", "data": 1}
    )
    (event,) = transition(send, MISSING, 1).events
    assert isinstance(event, StreamChangeEvent)
    assert stream_trigger_matches(StreamTriggerConfig(stream_name="events", group_id="g1"), event)
    assert not stream_trigger_matches(StreamTriggerConfig(stream_name="events", item_id="x"), event)


def test_state_delete_events_of_missing_keys_match() -> None:
    delete = decode_call("state::delete", {"scope": "orders", "key": "gone"})
    (event,) = transition(delete, MISSING, 1).events
    assert isinstance(event, StateChangeEvent)
    assert state_trigger_matches(StateTriggerConfig(scope="orders"), event)
