"""Hypothesis: the hub, the frame decoder, the auth input and context, and the join verdict equal
slow reference models (``reference.py``, or written out in the test), and never change what
they are given."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from iii_core._generated.stream import StreamAuthResult, StreamChangeEvent, StreamJoinResult
from iii_core.subscriptions import (
    ReadSync,
    RunJoinHooks,
    RunLeaveHooks,
    Send,
    SubscriptionHub,
    auth_context,
    decode_frame,
    join_rejected,
    stream_auth_input,
)
from tests.jsonvalues import same_json, snapshot
from tests.subscriptions.reference import ReferenceHub, reference_auth_input, reference_frame

NOW = 1_700_000_000_000
CONNECTIONS = (0, 1, 2)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3)
    ),
    max_leaves=6,
)
names = st.sampled_from(["s", "t"])
groups = st.sampled_from(["g", "h"])
items = st.sampled_from([None, "i", "j"])
subscription_ids = st.sampled_from(["a", "b", "c"])


@st.composite
def frames(draw: st.DrawFn) -> bytes | str:
    """Mostly well-formed join/leave frames (some with extra or wrong fields), some garbage."""
    kind = draw(st.sampled_from(["join", "join", "leave", "other"]))
    data: dict[str, Any] = {
        "subscriptionId": draw(subscription_ids),
        "streamName": draw(names),
        "groupId": draw(groups),
    }
    item = draw(items)
    if item is not None or draw(st.booleans()):
        data["id"] = item
    mutation = draw(st.sampled_from(["none"] * 6 + ["drop", "wrong-type", "extra", "garbage"]))
    if mutation == "drop":
        del data[draw(st.sampled_from(sorted(data)))]
    elif mutation == "wrong-type":
        data[draw(st.sampled_from(sorted(data)))] = draw(st.integers() | st.lists(st.none()))
    elif mutation == "extra":
        data[draw(st.sampled_from(["x", "type"]))] = draw(json_values)
    text = json.dumps({"type": kind, "data": data})
    if mutation == "garbage":
        text = draw(st.sampled_from(["", " ", "{", "[]", "null", text[:-1]]))
    return text.encode() if draw(st.booleans()) else text


hook_results = st.lists(
    st.none()
    | st.fixed_dictionaries(
        {"unauthorized": st.booleans() | st.integers(0, 1) | st.text(max_size=4)}
    )
    | json_values,
    max_size=3,
)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "stream",
        "timestamp": NOW,
        "streamName": draw(names),
        "groupId": draw(groups),
        "event": {"type": "update", "data": draw(json_values)},
    }
    item = draw(items)
    if item is not None or draw(st.booleans()):
        event["id"] = item
    return event


steps = st.one_of(
    st.tuples(st.just("connect"), st.sampled_from(CONNECTIONS), json_values),
    st.tuples(st.just("frame"), st.sampled_from(CONNECTIONS), frames(), hook_results, json_values),
    st.tuples(st.just("publish"), events()),
    st.tuples(st.just("disconnect"), st.sampled_from(CONNECTIONS)),
)


def _wire(value: Any) -> Any:
    return msgspec.json.decode(msgspec.json.encode(value))


def _hub_step(hub: SubscriptionHub[int], step: tuple[Any, ...], now: int) -> list[tuple[Any, ...]]:
    seen: list[tuple[Any, ...]] = []

    def send(action: Send[int] | None) -> None:
        if action is not None:
            seen.extend(("send", c, _wire(action.message)) for c in action.connections)

    if step[0] == "frame":
        _, connection, frame, results, data = step
        action = hub.receive(connection, frame)
        if isinstance(action, RunLeaveHooks):
            seen.append(("leave-hooks", _wire(action.event)))
        elif isinstance(action, RunJoinHooks):
            seen.append(("join-hooks", _wire(action.event)))
            outcome = hub.admit(action, results, now)
            if isinstance(outcome, ReadSync):
                seen.append(("read", outcome.function_id, _wire(outcome.request)))
                for sent in hub.synced(outcome, data):
                    send(sent)
            else:
                send(outcome)
    elif step[0] == "publish":
        send(hub.publish(msgspec.convert(step[1], StreamChangeEvent)))
    else:
        seen.extend(("leave-hooks", _wire(a.event)) for a in hub.disconnect(step[1]))
    return seen


@settings(max_examples=300)
@given(st.lists(steps, max_size=40))
def test_hub_equals_the_reference_model(script: list[tuple[Any, ...]]) -> None:
    hub: SubscriptionHub[int] = SubscriptionHub()
    reference = ReferenceHub()
    before = snapshot(script)
    for number, step in enumerate(script):
        now = NOW + number
        if step[0] == "connect":
            if step[1] in reference.contexts:
                continue
            hub.connect(step[1], step[2])
            reference.connect(step[1], step[2])
            continue
        if step[0] == "frame" and step[1] not in reference.contexts:
            continue
        got = _hub_step(hub, step, now)
        if step[0] == "frame":
            want = reference.frame(step[1], step[2], step[3], step[4], now)
        elif step[0] == "publish":
            want = reference.publish(step[1])
        else:
            want = reference.disconnect(step[1])
        assert same_json([list(o) for o in got], [list(o) for o in want]), (step, got, want)
        assert hub.subscription_count == len(reference.subscriptions)
    assert same_json(script, before)


@given(frames() | st.text() | st.binary())
def test_decode_frame_equals_the_reference(frame: bytes | str) -> None:
    decoded = decode_frame(frame)
    want = reference_frame(frame)
    if want is None:
        assert decoded is None
    else:
        assert decoded is not None
        kind, data = want
        assert decoded.__struct_config__.tag == kind
        # An absent `id` stays absent (UNSET) in the generated type; both mean a group.
        assert {"id": None, **_wire(decoded.data)} == data


header_names = st.sampled_from(["Host", "host", "X-Token", "x-token", "Cookie", "UPGRADE"])
header_values = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=6)
targets = st.builds(
    lambda path, query: path + query,
    st.sampled_from(["/", "/ws", "/a/b", ""]),
    st.just("") | st.text(alphabet="ab=&+%2 ?", max_size=12).map(lambda q: "?" + q),
)
peers = st.tuples(st.sampled_from(["127.0.0.1", "::1", "10.0.0.2"]), st.integers(0, 65535))


@given(targets, st.lists(st.tuples(header_names, header_values), max_size=6), peers)
def test_auth_input_equals_the_reference(
    target: str, headers: list[tuple[str, str]], peer: tuple[str, int]
) -> None:
    before = list(headers)
    got = stream_auth_input(target, headers, peer)
    assert _wire(got) == reference_auth_input(target, headers, peer)
    assert headers == before


results = st.lists(
    st.none()
    | json_values
    | st.dictionaries(
        st.sampled_from(["unauthorized", "context", "x"]),
        st.booleans() | st.integers(0, 1) | json_values,
        max_size=3,
    )
    | st.builds(StreamJoinResult, unauthorized=st.booleans()),
    max_size=4,
)


@given(results)
def test_join_verdict_equals_the_reference(hook_results: list[Any]) -> None:
    before = snapshot(msgspec.to_builtins(hook_results))
    want = any(
        (isinstance(r, dict) and r.get("unauthorized") is True)
        or (isinstance(r, StreamJoinResult) and r.unauthorized)
        for r in hook_results
    )
    assert join_rejected(hook_results) is want
    assert same_json(msgspec.to_builtins(hook_results), before)


@given(
    st.none()
    | json_values
    | st.dictionaries(st.sampled_from(["context", "x"]), json_values, max_size=2)
    | st.builds(StreamAuthResult, context=json_values)
    | st.just(StreamAuthResult())
)
def test_auth_context_equals_the_reference(result: Any) -> None:
    before = snapshot(msgspec.to_builtins(result))
    if isinstance(result, StreamAuthResult):
        want = msgspec.to_builtins(result).get("context")
    else:
        want = result.get("context") if isinstance(result, dict) else None
    assert same_json(auth_context(result), want)
    assert same_json(msgspec.to_builtins(result), before)


# -- syncs answered late: the events held back meanwhile ----------------------------------------

late_steps = st.lists(
    st.one_of(
        st.tuples(st.just("join"), st.sampled_from(CONNECTIONS)),
        st.tuples(st.just("publish"), st.integers(0, 99)),
        st.tuples(st.just("answer"), st.sampled_from(CONNECTIONS), st.booleans()),
        st.tuples(st.just("leave"), st.sampled_from(CONNECTIONS)),
        st.tuples(st.just("resync"), st.just(None)),
    ),
    max_size=40,
)
_FRAME = {"subscriptionId": "x", "streamName": "s", "groupId": "g"}


def _update(n: int) -> StreamChangeEvent:
    return msgspec.convert(
        {
            "type": "stream",
            "timestamp": NOW,
            "streamName": "s",
            "groupId": "g",
            "id": "i",
            "event": {"type": "update", "data": n},
        },
        StreamChangeEvent,
    )


class _LateModel:
    """One group subscription per connection at most. ``pending`` is what a connection's
    subscription holds back (``None`` once a sync was sent and none is asked for); ``reads``
    its unanswered reads, each with the subscription generation it was asked for."""

    def __init__(self) -> None:
        self.generation = dict.fromkeys(CONNECTIONS, 0)
        self.subscribed = dict.fromkeys(CONNECTIONS, False)
        self.pending: dict[int, list[Any] | None] = dict.fromkeys(CONNECTIONS)
        self.expected: dict[int, list[Any]] = {c: [] for c in CONNECTIONS}

    def join(self, connection: int) -> int:
        self.generation[connection] += 1
        self.subscribed[connection] = True
        self.pending[connection] = []
        return self.generation[connection]

    def publish(self, n: int) -> None:
        for connection in CONNECTIONS:
            if self.subscribed[connection]:
                pending = self.pending[connection]
                target = self.expected[connection] if pending is None else pending
                target.append({"type": "update", "data": n})

    def answer(self, connection: int, generation: int, succeeds: bool) -> None:
        if not self.subscribed[connection] or generation != self.generation[connection]:
            return  # a stale read: nothing is sent
        if succeeds:
            self.expected[connection].append({"type": "sync", "data": [1]})
        self.expected[connection].extend(self.pending[connection] or [])
        self.pending[connection] = None

    def leave(self, connection: int) -> None:
        self.generation[connection] += 1
        self.subscribed[connection] = False
        self.pending[connection] = None

    def resync(self) -> list[tuple[int, int]]:
        asked = []
        for connection in CONNECTIONS:
            if self.subscribed[connection]:
                if self.pending[connection] is None:
                    self.pending[connection] = []
                asked.append((connection, self.generation[connection]))
        return asked


@settings(max_examples=300)
@given(late_steps)
def test_a_late_sync_comes_first_then_what_was_held_back(script: list[tuple[Any, ...]]) -> None:
    """Reads answered late, in any order, or failing: a client gets its sync, then every event
    its subscription held back since the read was asked for, in order, then every later one;
    never an event between asking for a sync and sending it."""
    hub: SubscriptionHub[int] = SubscriptionHub()
    model = _LateModel()
    reads: dict[int, list[tuple[ReadSync[int], int]]] = {c: [] for c in CONNECTIONS}
    received: dict[int, list[Any]] = {c: [] for c in CONNECTIONS}
    for connection in CONNECTIONS:
        hub.connect(connection)

    def deliver(sends: list[Send[int]]) -> None:
        for send in sends:
            for connection in send.connections:
                received[connection].append(_wire(send.message)["event"])

    for step in script:
        kind, argument = step[0], step[1]
        if kind == "join":
            join = hub.receive(argument, json.dumps({"type": "join", "data": _FRAME}))
            assert isinstance(join, RunJoinHooks)
            read = hub.admit(join, [], NOW)
            assert isinstance(read, ReadSync)
            reads[argument].append((read, model.join(argument)))
        elif kind == "publish":
            sent = hub.publish(_update(argument))
            deliver([] if sent is None else [sent])
            model.publish(argument)
        elif kind == "answer" and reads[argument]:
            read, generation = reads[argument].pop(0)
            deliver(hub.synced(read, [1]) if step[2] else hub.unsynced(read))
            model.answer(argument, generation, step[2])
        elif kind == "leave":
            hub.receive(argument, json.dumps({"type": "leave", "data": _FRAME}))
            model.leave(argument)
        elif kind == "resync":
            asked = model.resync()
            got = hub.resync(NOW)
            assert [read.connection for read in got] == [c for c, _ in asked]
            for read, (connection, generation) in zip(got, asked, strict=True):
                reads[connection].append((read, generation))
        assert received == model.expected, step
