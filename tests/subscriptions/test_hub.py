"""The hub's rules, one by one (``stream-state.md`` §3.3)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from iii_core._generated.state import StateChangeEvent
from iii_core._generated.stream import (
    StreamChangeEvent,
    StreamChangeEventDetail,
    StreamCustomEvent,
    StreamGetInput,
    StreamJoinResult,
    StreamListInput,
)
from iii_core.subscriptions import (
    ConnectionAlreadyOpen,
    ReadSync,
    Refuse,
    RunJoinHooks,
    RunLeaveHooks,
    Send,
    SubscriptionHub,
    UnknownConnection,
)

NOW = 1_700_000_000_123


def frame(
    kind: str, sub: str, stream: str = "s", group: str = "g", item: str | None = None
) -> bytes:
    data: dict[str, Any] = {"subscriptionId": sub, "streamName": stream, "groupId": group}
    if item is not None:
        data["id"] = item
    return msgspec.json.encode({"type": kind, "data": data})


def wire(value: Any) -> Any:
    return msgspec.json.decode(msgspec.json.encode(value))


def change(item: str | None, stream: str = "s", group: str = "g") -> StreamChangeEvent:
    return StreamChangeEvent(
        type="stream",
        timestamp=NOW,
        stream_name=stream,
        group_id=group,
        id=item,
        event=StreamChangeEventDetail(type="update", data={"v": 1}),
    )


def joined(
    hub: SubscriptionHub[str],
    connection: str,
    sub: str,
    item: str | None = None,
    *,
    sync: bool = True,
    **where: str,
) -> ReadSync[str]:
    """Join; the sync is sent (its events flow from then on) unless ``sync`` is false."""
    join = hub.receive(connection, frame("join", sub, item=item, **where))
    assert isinstance(join, RunJoinHooks)
    read = hub.admit(join, [], NOW)
    assert isinstance(read, ReadSync)
    if sync:
        hub.synced(read, None)
    return read


@pytest.fixture
def hub() -> SubscriptionHub[str]:
    opened: SubscriptionHub[str] = SubscriptionHub()
    opened.connect("a", {"user": "alice"})
    opened.connect("b")
    return opened


def test_join_runs_hooks_with_snake_case_payload_and_context(hub: SubscriptionHub[str]) -> None:
    join = hub.receive("a", frame("join", "sub-1", item="item-1"))
    assert isinstance(join, RunJoinHooks) and join.connection == "a"
    assert wire(join.event) == {
        "subscription_id": "sub-1",
        "stream_name": "s",
        "group_id": "g",
        "id": "item-1",
        "context": {"user": "alice"},
    }
    group_join = hub.receive("b", frame("join", "sub-2"))
    assert isinstance(group_join, RunJoinHooks)
    # As the engine's Option fields: null on the wire, never left out.
    assert wire(group_join.event)["id"] is None and wire(group_join.event)["context"] is None
    assert hub.subscription_count == 0  # nothing is recorded before the hooks answer


def test_item_join_reads_the_item_and_syncs_it_stamped_when_the_hooks_answered(
    hub: SubscriptionHub[str],
) -> None:
    read = joined(hub, "a", "sub-1", item="item-1", sync=False)
    assert read.function_id == "stream::get"
    assert read.request == StreamGetInput(stream_name="s", group_id="g", item_id="item-1")
    [sent] = hub.synced(read, None)
    assert isinstance(sent, Send) and sent.connections == ("a",)
    assert wire(sent.message) == {
        "type": "stream",
        "timestamp": NOW,
        "streamName": "s",
        "groupId": "g",
        "id": "item-1",
        "event": {"type": "sync", "data": None},
    }


def test_group_join_reads_the_list_and_syncs_with_a_null_id(hub: SubscriptionHub[str]) -> None:
    read = joined(hub, "a", "sub-1", sync=False)
    assert read.function_id == "stream::list"
    assert read.request == StreamListInput(stream_name="s", group_id="g")
    [sent] = hub.synced(read, [{"x": 1}])
    assert wire(sent.message)["id"] is None
    assert wire(sent.message)["event"] == {"type": "sync", "data": [{"x": 1}]}


@pytest.mark.parametrize(
    ("results", "rejected"),
    [
        ([], False),
        ([None], False),
        ([{"unauthorized": False}], False),
        ([{"unauthorized": "true"}], False),
        ([{"unauthorized": 1}], False),
        (["unauthorized"], False),
        ([StreamJoinResult(unauthorized=False)], False),
        ([{"unauthorized": True}], True),
        ([StreamJoinResult(unauthorized=True)], True),
        ([None, {"unauthorized": False}, {"unauthorized": True}, None], True),
    ],
)
def test_only_a_real_true_rejects(
    hub: SubscriptionHub[str], results: list[Any], rejected: bool
) -> None:
    join = hub.receive("a", frame("join", "sub-1", item="item-1"))
    assert isinstance(join, RunJoinHooks)
    outcome = hub.admit(join, results, NOW)
    if rejected:
        assert isinstance(outcome, Send) and outcome.connections == ("a",)
        assert wire(outcome.message) == {
            "type": "stream",
            "timestamp": NOW,
            "streamName": "s",
            "groupId": "g",
            "id": "item-1",
            "event": {"type": "unauthorized"},
        }
        assert hub.subscriptions("a") == ()
        assert hub.publish(change("item-1")) is None
    else:
        assert isinstance(outcome, ReadSync)
        assert len(hub.subscriptions("a")) == 1


def test_delivery_filters_by_stream_group_and_item(hub: SubscriptionHub[str]) -> None:
    joined(hub, "a", "group")
    joined(hub, "b", "item-1", item="item-1")
    joined(hub, "b", "other-group", group="h")
    joined(hub, "b", "other-stream", stream="t")

    def recipients(event: StreamChangeEvent) -> tuple[str, ...] | None:
        sent = hub.publish(event)
        if sent is not None:
            assert sent.message is event  # forwarded as it came
        return None if sent is None else sent.connections

    assert recipients(change("item-1")) == ("a", "b")
    assert recipients(change("item-2")) == ("a",)
    assert recipients(change(None)) == ("a",)
    assert recipients(change("item-1", group="h")) == ("b",)
    assert recipients(change("item-1", stream="t")) == ("b",)
    assert recipients(change("item-1", stream="u")) is None
    custom = StreamChangeEvent(
        type="stream",
        timestamp=NOW,
        stream_name="s",
        group_id="g",
        event=StreamChangeEventDetail(type="event", event=StreamCustomEvent(type="ping", data=1)),
    )
    assert recipients(custom) == ("a",)  # a send without id: group subscriptions only


def test_state_events_are_never_sent(hub: SubscriptionHub[str]) -> None:
    joined(hub, "a", "group")
    state = StateChangeEvent(
        type="state", event_type="state:created", scope="s", key="g", old_value=None, new_value=1
    )
    assert hub.publish(state) is None


def test_one_message_per_matching_subscription(hub: SubscriptionHub[str]) -> None:
    joined(hub, "a", "all")
    joined(hub, "a", "item", item="item-1")
    joined(hub, "a", "other", group="h")
    sent = hub.publish(change("item-1"))
    assert sent is not None and sent.connections == ("a", "a")


def test_leave_runs_hooks_even_for_an_unknown_subscription(hub: SubscriptionHub[str]) -> None:
    joined(hub, "a", "sub-1")
    leave = hub.receive("a", frame("leave", "nobody", item="x"))
    assert isinstance(leave, RunLeaveHooks)
    assert wire(leave.event)["subscription_id"] == "nobody"
    assert wire(leave.event)["context"] == {"user": "alice"}
    assert len(hub.subscriptions("a")) == 1
    leave = hub.receive("a", frame("leave", "sub-1"))
    assert isinstance(leave, RunLeaveHooks)
    assert hub.subscriptions("a") == ()
    assert hub.publish(change("x")) is None


def test_close_runs_leave_hooks_once_per_held_subscription(hub: SubscriptionHub[str]) -> None:
    joined(hub, "a", "first", item="i")
    joined(hub, "a", "second")
    joined(hub, "a", "first", item="j")  # same id again: replaces, moves to the end
    joined(hub, "b", "elsewhere")
    leaves = hub.disconnect("a")
    assert [(leave.connection, wire(leave.event)) for leave in leaves] == [
        (
            "a",
            {
                "subscription_id": "second",
                "stream_name": "s",
                "group_id": "g",
                "id": None,
                "context": {"user": "alice"},
            },
        ),
        (
            "a",
            {
                "subscription_id": "first",
                "stream_name": "s",
                "group_id": "g",
                "id": "j",
                "context": {"user": "alice"},
            },
        ),
    ]
    assert hub.disconnect("a") == []
    sent = hub.publish(change("i"))
    assert sent is not None and sent.connections == ("b",)
    with pytest.raises(UnknownConnection):
        hub.receive("a", frame("join", "again"))


def test_a_replaced_subscription_is_delivered_once(hub: SubscriptionHub[str]) -> None:
    joined(hub, "a", "sub")
    joined(hub, "a", "sub")
    sent = hub.publish(change("i"))
    assert sent is not None and sent.connections == ("a",)


def test_late_answers_after_leave_or_close_send_nothing(hub: SubscriptionHub[str]) -> None:
    read = joined(hub, "a", "sub", sync=False)
    hub.receive("a", frame("leave", "sub"))
    assert hub.synced(read, []) == []
    stale = joined(hub, "a", "sub", sync=False)
    joined(hub, "a", "sub")  # replaced: the first read's answer is stale
    assert hub.synced(stale, []) == []
    join = hub.receive("b", frame("join", "sub"))
    assert isinstance(join, RunJoinHooks)
    read_b = hub.admit(join, [], NOW)
    assert isinstance(read_b, ReadSync)
    hub.disconnect("b")
    assert hub.synced(read_b, []) == []
    assert hub.admit(join, [], NOW) is None


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"   \n",
        "",
        b"not json",
        b"[]",
        b"null",
        b'{"type": "join"}',
        b'{"type": "JOIN", "data": {"subscriptionId": "a", "streamName": "s", "groupId": "g"}}',
        b'{"type": "subscribe", "data": {"subscriptionId": "a", "streamName": "s", "groupId": "g"}}',
        b'{"type": "join", "data": {"subscriptionId": 1, "streamName": "s", "groupId": "g"}}',
        b'{"type": "join", "data": {"streamName": "s", "groupId": "g"}}',
        b'{"type": "join", "data": {"subscriptionId": "a", "streamName": "s", "groupId": "g", "id": 7}}',
        b'{"type": "join", "data": null}',
        b"\xff\xfe",
        b'{"type": "join", "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        "\udcff",
    ],
)
def test_blank_and_malformed_frames_are_ignored(
    hub: SubscriptionHub[str], bad: bytes | str
) -> None:
    assert hub.receive("a", bad) is None
    assert hub.subscriptions("a") == ()


def test_text_and_binary_frames_and_extra_fields(hub: SubscriptionHub[str]) -> None:
    text = '  {"data": {"groupId": "g", "extra": [1], "subscriptionId": "x", "streamName": "s", "id": null}, "type": "join", "more": {}}\n'
    join = hub.receive("a", text)
    assert isinstance(join, RunJoinHooks) and join.event.id is None
    assert isinstance(hub.receive("a", bytearray(text.encode())), RunJoinHooks)
    assert isinstance(hub.receive("a", memoryview(text.encode())), RunJoinHooks)


def test_connections_are_opened_once(hub: SubscriptionHub[str]) -> None:
    with pytest.raises(ConnectionAlreadyOpen):
        hub.connect("a")
    with pytest.raises(UnknownConnection):
        hub.receive("nobody", frame("join", "x"))
    with pytest.raises(UnknownConnection):
        hub.subscriptions("nobody")


def test_events_wait_for_the_sync_of_a_joining_subscription(hub: SubscriptionHub[str]) -> None:
    settled = joined(hub, "b", "settled")
    read = joined(hub, "a", "joining", sync=False)
    first, second = change("i"), change(None)
    sent = hub.publish(first)
    assert sent is not None and sent.connections == ("b",)  # held back for "a"
    sent = hub.publish(second)
    assert sent is not None and sent.connections == ("b",)
    sends = hub.synced(read, [{"x": 1}])
    assert [wire(s.message)["event"]["type"] for s in sends] == ["sync", "update", "update"]
    assert [s.message for s in sends[1:]] == [first, second]
    assert all(s.connections == ("a",) for s in sends)
    sent = hub.publish(first)  # from now on, delivered at once
    assert sent is not None and sent.connections == ("b", "a")
    assert [s.message.event.type for s in hub.synced(settled, [])] == ["sync"]  # nothing held
    assert hub.subscription_count == 2


def test_a_failed_sync_read_releases_the_held_events(hub: SubscriptionHub[str]) -> None:
    read = joined(hub, "a", "sub", sync=False)
    event = change("i")
    assert hub.publish(event) is None
    sends = hub.unsynced(read)
    assert [(s.message, s.connections) for s in sends] == [(event, ("a",))]
    sent = hub.publish(event)
    assert sent is not None and sent.connections == ("a",)


def test_leaving_or_closing_drops_the_held_events(hub: SubscriptionHub[str]) -> None:
    read = joined(hub, "a", "sub", sync=False)
    hub.publish(change("i"))
    hub.receive("a", frame("leave", "sub"))
    assert hub.synced(read, []) == []
    read = joined(hub, "b", "sub", sync=False)
    hub.publish(change("i"))
    hub.disconnect("b")
    assert hub.synced(read, []) == []
    joined(hub, "a", "again")
    sent = hub.publish(change("i"))  # nothing is held any more: the fast path again
    assert sent is not None and sent.connections == ("a",)


def test_resync_reads_every_subscription_again_and_holds_its_events(
    hub: SubscriptionHub[str],
) -> None:
    joined(hub, "a", "group")
    joined(hub, "a", "item", item="i")
    joined(hub, "b", "other", stream="t")
    reads = hub.resync(NOW + 5)
    assert [(r.connection, r.subscription.subscription_id, r.function_id) for r in reads] == [
        ("a", "group", "stream::list"),
        ("a", "item", "stream::get"),
        ("b", "other", "stream::list"),
    ]
    assert {r.timestamp for r in reads} == {NOW + 5}
    event = change("i")
    assert hub.publish(event) is None  # both of "a"'s subscriptions wait for their sync
    group_sends = hub.synced(reads[0], [])
    assert [wire(s.message)["event"]["type"] for s in group_sends] == ["sync", "update"]
    item_sends = hub.synced(reads[1], {"v": 1})
    assert [wire(s.message)["event"]["type"] for s in item_sends] == ["sync", "update"]
    assert hub.resync(NOW) != [] and hub.subscription_count == 3


def test_limits_refuse_long_names_and_too_many_subscriptions() -> None:
    hub: SubscriptionHub[str] = SubscriptionHub(max_subscriptions=2, max_name_bytes=8)
    hub.connect("a")
    for name in ("subscription", "é" * 5):  # 12 characters; 5 characters but 10 bytes
        for where in ({"stream": name}, {"group": name}, {"item": name}, {}):
            sub = name if not where else "s"
            refused = hub.receive("a", frame("join", sub, **where))
            assert isinstance(refused, Refuse) and refused.reason == (
                "a name is longer than 8 bytes"
            )
        assert isinstance(hub.receive("a", frame("leave", name)), Refuse)
    assert isinstance(hub.receive("a", frame("join", "é" * 4)), RunJoinHooks)  # 8 bytes: fine
    joined(hub, "a", "one")
    joined(hub, "a", "two")
    refused = hub.receive("a", frame("join", "three"))
    assert isinstance(refused, Refuse)
    assert refused.reason == "over 2 subscriptions on one connection"
    joined(hub, "a", "two", item="i")  # replacing one of its own is no new subscription
    hub.receive("a", frame("leave", "one"))
    joined(hub, "a", "three")
    assert hub.subscription_count == 2
