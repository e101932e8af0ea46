"""Per-group routing: route channels share their hash's cluster slot and are one per hash; the
route table listens exactly on what its live subscriptions need, and every subscription gets
each change exactly once, from one channel, and nothing of the groups it does not watch."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.crc import key_slot as redis_py_key_slot

from iii_core._generated.state import StateChangeEvent, StateTriggerConfig
from iii_core._generated.stream import StreamChangeEvent, StreamTriggerConfig
from iii_core.backends._engine_channel import ENGINE_CHANNEL, decode_engine_message
from iii_core.backends._event_routing import (
    FIREHOSE,
    ROUTE_PREFIX,
    RouteTable,
    event_route,
    hashed_part,
    key_slot,
    needed_channels,
    publications,
    publish_commands,
    route_channel,
)
from iii_core.backends._subscribers import _matches
from iii_core.store._events import item_change, state_event, stream_event

# Braces and colons on purpose: they decide hash tags and the key layout's ambiguity.
names = st.one_of(
    st.sampled_from(["", "a", "b", "{", "}", "{}", "{a}", "a}", "}{", ":", "é"]),
    st.text(alphabet="ab{}:é", max_size=5),
    st.text(max_size=4),
)
hash_keys = st.one_of(
    st.builds(lambda s, g: f"stream:{s}:{g}", names, names),
    st.builds(lambda s: f"state:{s}", names),
)


def recover_key(channel: str) -> str:
    """The hash key inside a route channel (the rule that makes route_channel one-to-one)."""
    assert channel.startswith(ROUTE_PREFIX + "{")
    rest = channel[len(ROUTE_PREFIX) + 1 :]
    tag, _, tail = rest.partition("}")
    return tail[1:] if tail else tag


@given(hash_keys)
def test_a_route_lives_in_its_hash_slot(key: str) -> None:
    channel = route_channel(key)
    assert key_slot(key) == redis_py_key_slot(key.encode())
    assert redis_py_key_slot(channel.encode()) == redis_py_key_slot(key.encode())
    assert channel not in (FIREHOSE, ENGINE_CHANNEL)


@given(hash_keys)
def test_one_route_per_hash(key: str) -> None:
    assert recover_key(route_channel(key)) == key


@given(hash_keys, hash_keys)
def test_distinct_hashes_have_distinct_routes(a: str, b: str) -> None:
    assert (route_channel(a) == route_channel(b)) == (a == b)


@pytest.mark.parametrize(
    ("key", "part"),
    [("a", "a"), ("{a}b", "a"), ("x{}{a}", "x{}{a}"), ("{a{b}c}", "a{b"), ("a}{", "a}{")],
)
def test_hashed_part_is_redis_rule(key: str, part: str) -> None:
    assert hashed_part(key) == part


def test_common_routes_read_well() -> None:
    assert route_channel("stream:chat:room") == "iii-core:events:{stream:chat:room}"
    assert route_channel("state:users") == "iii-core:events:{state:users}"


# -- subscriptions, publications and audiences ---------------------------------------------

configs: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.builds(
        StreamTriggerConfig,
        stream_name=st.one_of(st.none(), st.sampled_from(["s", "t"])),
        group_id=st.one_of(st.none(), st.sampled_from(["", "g", "h"])),
        item_id=st.one_of(st.none(), st.sampled_from(["", "i"])),
    ),
    st.builds(
        StateTriggerConfig,
        scope=st.one_of(st.none(), st.sampled_from(["", "p", "q"])),
        key=st.one_of(st.none(), st.sampled_from(["k"])),
    ),
)
events = st.one_of(
    st.builds(
        lambda s, g, i: stream_event(
            now_ms=1, stream_name=s, group_id=g, item_id=i, change=item_change("create", 1)
        ),
        st.sampled_from(["s", "t"]),
        st.sampled_from(["", "g", "h"]),
        st.sampled_from(["", "i"]),
    ),
    st.builds(
        lambda s, k: state_event("state:created", s, k, None, 1),
        st.sampled_from(["", "p", "q"]),
        st.sampled_from(["k", "l"]),
    ),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 7), configs),
        st.tuples(st.just("remove"), st.integers(0, 7), st.none()),
    ),
    max_size=25,
)


def other_route(config: Any, event: StreamChangeEvent | StateChangeEvent) -> bool:
    """Whether ``config`` names a group (or scope) other than the event's."""
    if isinstance(config, StreamTriggerConfig):
        if config.stream_name is None or config.group_id in (None, ""):
            return False
        return not isinstance(event, StreamChangeEvent) or (
            (config.stream_name, config.group_id) != (event.stream_name, event.group_id)
        )
    if isinstance(config, StateTriggerConfig) and config.scope is not None:
        return not isinstance(event, StateChangeEvent) or config.scope != event.scope
    return False


def messages(
    event: StreamChangeEvent | StateChangeEvent, *, by_engine: bool, engine_channel: bool
) -> list[tuple[str, bool]]:
    """The (channel, own copy) messages a change reaches Redis as: an iii-core write by its
    publications, an engine write on the engine channel only (stream events only)."""
    if by_engine:
        return [(ENGINE_CHANNEL, False)] if isinstance(event, StreamChangeEvent) else []
    return [
        (p.channel, p.channel == ENGINE_CHANNEL)
        for p in publications(event, engine_channel=engine_channel)
    ]


@settings(max_examples=300)
@given(operations, st.booleans(), st.lists(events, max_size=4))
def test_the_table_follows_its_subscriptions(
    ops: list[tuple[str, int, Any]], engine_channel: bool, changes: list[Any]
) -> None:
    table = RouteTable(engine_channel=engine_channel)
    live: dict[int, Any] = {}
    for action, token, config in ops:
        before = set(table.channels)
        if action == "add":
            if token in live:
                with pytest.raises(KeyError):
                    table.add(token, config)
                continue
            change = table.add(token, config)
            live[token] = config
        else:
            change = table.remove(token)
            live.pop(token, None)
        wanted: set[str] = set()
        for each in live.values():
            wanted |= needed_channels(each, engine_channel=engine_channel)
        assert table.channels == wanted
        assert change.subscribe == tuple(sorted(wanted - before))
        assert change.unsubscribe == tuple(sorted(before - wanted))

    for event in changes:
        for by_engine in (False, True):
            received: dict[int, int] = dict.fromkeys(live, 0)
            for channel, own in messages(event, by_engine=by_engine, engine_channel=engine_channel):
                audience = table.audience(channel, own_copy=own)
                assert audience <= set(live)
                # Nobody listens for a message without listening on its channel.
                assert not audience or channel in table.channels
                for token in audience:
                    received[token] += 1
            for token, config in live.items():
                matching = _matches(config, event)
                expected: int | None
                if by_engine and not engine_channel:
                    expected = 0  # the engine's channel is off: its writes are not seen live
                elif by_engine and not isinstance(event, StreamChangeEvent):
                    expected = 0  # the engine publishes no state events
                else:
                    expected = 1 if matching else None
                if expected is None:
                    # A subscription to another group (scope) is not even offered the message,
                    # except an engine write, which only the engine channel carries.
                    if other_route(config, event) and not by_engine:
                        assert received[token] == 0
                    assert received[token] <= 1
                else:
                    assert received[token] == expected, (config, event, by_engine)


def test_a_narrow_subscription_hears_only_its_route() -> None:
    table = RouteTable(engine_channel=False)
    change = table.add(1, StreamTriggerConfig(stream_name="chat", group_id="room"))
    assert change.subscribe == ("iii-core:events:{stream:chat:room}",)
    other = stream_event(
        now_ms=1, stream_name="chat", group_id="other", item_id="m", change=item_change("create", 1)
    )
    assert table.audience(event_route(other)) == frozenset()
    assert table.remove(1).unsubscribe == ("iii-core:events:{stream:chat:room}",)
    assert table.channels == frozenset()
    assert table.remove(1) == ((), ())


def test_watch_listens_on_the_firehoses() -> None:
    assert needed_channels(None, engine_channel=True) == {ENGINE_CHANNEL, FIREHOSE}
    assert needed_channels(None, engine_channel=False) == {FIREHOSE}
    assert needed_channels(StreamTriggerConfig(), engine_channel=True) == frozenset()


@given(st.lists(events, max_size=5), st.booleans(), st.booleans())
def test_publish_commands_carry_each_event_to_its_route_and_firehose(
    changes: list[Any], engine_channel: bool, cluster: bool
) -> None:
    commands = publish_commands(changes, engine_channel=engine_channel, cluster=cluster)
    assert len(commands) == 2 * len(changes)
    for event, (route, firehose) in zip(
        changes, zip(commands[::2], commands[1::2], strict=True), strict=True
    ):
        command, channel, message = route
        assert (command, channel) == ("SPUBLISH" if cluster else "PUBLISH", event_route(event))
        assert msgspec.json.decode(message, type=type(event)) == event
        command, channel, message = firehose
        assert command == "PUBLISH"
        if engine_channel and isinstance(event, StreamChangeEvent):
            assert channel == ENGINE_CHANNEL
            assert decode_engine_message(message) == event
        else:
            assert channel == FIREHOSE
            assert msgspec.json.decode(message, type=type(event)) == event
