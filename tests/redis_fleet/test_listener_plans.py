"""The pure parts of the listeners: what to (un)subscribe to reach the wanted channels, and
where a sync_events marker goes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from iii_core.backends._engine_channel import ENGINE_CHANNEL
from iii_core.backends._event_inbox import MARKER_CHANNEL
from iii_core.backends._event_routing import FIREHOSE, route_channel
from iii_core.backends._redis_listener import marker_publications, reconcile

channels = st.sampled_from(
    [
        ENGINE_CHANNEL,
        FIREHOSE,
        MARKER_CHANNEL,
        route_channel("stream:s:g"),
        route_channel("stream:s:h"),
        route_channel("state:p"),
    ]
)
channel_sets = st.frozensets(channels)


@given(channel_sets, channel_sets, st.booleans())
def test_reconcile_reaches_the_wanted_channels(
    wanted: frozenset[str], listening: frozenset[str], cluster: bool
) -> None:
    now = set(listening)
    calls = reconcile(wanted, now, cluster=cluster)
    assert now == set(listening)  # not changed
    for method, names in calls:
        assert names == sorted(names) and names
        sharded = method in ("ssubscribe", "sunsubscribe")
        assert all(name.startswith("iii-core:events:{") == sharded for name in names) or not cluster
        assert not sharded or cluster  # shard channels only on a cluster
        if method.endswith("unsubscribe"):
            assert set(names) <= now
            now -= set(names)
        else:
            assert not set(names) & now
            now |= set(names)
    assert now == wanted
    assert reconcile(wanted, now, cluster=cluster) == []


@given(channel_sets, st.booleans())
def test_markers_go_where_order_holds(listened: frozenset[str], cluster: bool) -> None:
    where = marker_publications(listened, cluster=cluster)
    routes = {c for c in listened if c.startswith("iii-core:events:{")}
    if not listened:
        assert where == []
    elif not cluster:
        # One connection hears every channel in order: one marker on the marker channel.
        assert where == [(MARKER_CHANNEL, False)]
    else:
        assert {c for c, sharded in where if sharded} == routes
        assert [c for c, sharded in where if not sharded] == (
            [MARKER_CHANNEL] if MARKER_CHANNEL in listened else []
        )
