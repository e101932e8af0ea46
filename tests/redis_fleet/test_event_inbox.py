"""The event inbox, pure: what a received message is for, what it costs (counters), markers."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from iii_core._generated.stream import StreamTriggerConfig
from iii_core.backends._engine_channel import ENGINE_CHANNEL, encode_engine_message
from iii_core.backends._event_inbox import MARKER_PREFIX, EventInbox
from iii_core.backends._event_routing import FIREHOSE, event_route
from iii_core.store._events import item_change, stream_event

channels = st.one_of(
    st.sampled_from([ENGINE_CHANNEL, FIREHOSE, "iii-core:events:{stream:s:g}"]), st.text(max_size=8)
)


def event(group: str, n: int) -> Any:
    return stream_event(
        now_ms=n, stream_name="s", group_id=group, item_id="i", change=item_change("create", n)
    )


deep = st.sampled_from([b"[" * 100_000, b"{" * 100_000, b'{"type":' * 50_000])


@given(
    st.lists(st.tuples(channels, st.one_of(st.binary(max_size=40), deep)), max_size=20),
    st.booleans(),
)
def test_any_message_is_counted_and_never_raises(
    messages: list[tuple[str, bytes]], engine: bool
) -> None:
    inbox = EventInbox(engine_channel=engine)
    inbox.add(None, lambda e: None)
    inbox.add(StreamTriggerConfig(stream_name="s", group_id="g"), lambda e: None)
    for channel, data in messages:
        inbox.receive(channel, data)
    counts = inbox.counts
    assert counts.received == sum(not d.startswith(MARKER_PREFIX) for _, d in messages)
    assert counts.ignored <= counts.decoded <= counts.received


def test_only_messages_with_an_audience_are_decoded() -> None:
    inbox = EventInbox(engine_channel=True)
    seen: list[Any] = []
    inbox.add(StreamTriggerConfig(stream_name="s", group_id="g"), seen.append)
    mine, theirs = event("g", 1), event("h", 2)
    assert inbox.receive(event_route(theirs), msgspec.json.encode(theirs)) == []
    assert inbox.receive(ENGINE_CHANNEL, encode_engine_message(theirs)) == []
    assert inbox.receive(ENGINE_CHANNEL, encode_engine_message(mine)) == []
    calls = inbox.receive(event_route(mine), msgspec.json.encode(mine))
    assert [(handler, got) for handler, got in calls] == [(seen.append, mine)]
    assert inbox.snapshot() == {
        "events_received": 4,
        "events_decoded": 1,
        "events_ignored": 0,
        "events_delivered": 1,
        "channels": 2,
    }


def test_markers_are_answered_and_not_counted() -> None:
    inbox = EventInbox(engine_channel=False)
    arrived: list[int] = []
    marker = MARKER_PREFIX + b"abc"
    inbox.expect_marker(marker, lambda: arrived.append(1))
    inbox.receive(FIREHOSE, marker)
    inbox.receive(FIREHOSE, MARKER_PREFIX + b"someone else's")
    inbox.forget_marker(marker)
    inbox.receive(FIREHOSE, marker)
    assert arrived == [1]
    assert inbox.counts.received == 0


def test_a_removed_subscription_gets_nothing() -> None:
    inbox = EventInbox(engine_channel=False)
    seen: list[Any] = []
    token, changes = inbox.add(StreamTriggerConfig(stream_name="s", group_id="g"), seen.append)
    assert changes.subscribe == ("iii-core:events:{stream:s:g}",)
    assert inbox.remove(token).unsubscribe == ("iii-core:events:{stream:s:g}",)
    mine = event("g", 1)
    assert inbox.receive(event_route(mine), msgspec.json.encode(mine)) == []
    assert inbox.counts.decoded == 0
