"""Nothing aliases the store, on every backend: a caller that mutates every container of a
call's result or of its own payload (after the call), and handlers that mutate every container
of their events, change neither the stored values, nor a later result, nor the events other
handlers got (those with their own copies, and the one registered with ``private_copies=False``
that only reads).

Every mutation leaves the mark ``"vandal"`` (a key added to each object, an element appended to
each array), so a shared container anywhere shows up as that mark in what must be clean."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from iii_core.backends import ChangeEvent, Store
from iii_core.state import (
    StateDeleteInput,
    StateGetInput,
    StateListGroupsInput,
    StateListInput,
    StateSetInput,
    StateUpdateInput,
)
from iii_core.stream import (
    StreamDeleteInput,
    StreamGetInput,
    StreamListAllInput,
    StreamListGroupsInput,
    StreamListInput,
    StreamSendInput,
    StreamSetInput,
    StreamUpdateInput,
)

MARK = "vandal"
ITEM = {"stream_name": "chat", "group_id": "room", "item_id": "m1"}
OTHER = {**ITEM, "item_id": "m2"}
GROUP = {"stream_name": "chat", "group_id": "room"}
STATE = {"scope": "s", "key": "k"}


def nested(tag: int) -> dict[str, Any]:
    return {"a": {"b": [1, {"c": [tag, {"d": {}}]}]}, "list": [[tag], {"x": []}], "n": tag}


# Every function that returns or emits values, writes over existing items (so that results
# hold an old and a new value sharing all the members the write did not touch), and updates
# that leave errors (a result list of Structs).
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("stream::set", {**ITEM, "data": nested(1)}),
    ("stream::set", {**OTHER, "data": nested(2)}),
    ("stream::set", {**ITEM, "data": nested(3)}),
    ("stream::get", ITEM),
    (
        "stream::update",
        {
            **ITEM,
            "ops": [
                {"type": "set", "path": "list", "value": [[4], {"y": {}}]},
                {"type": "increment", "path": "a", "by": 1},
            ],
        },
    ),
    ("stream::update", {**ITEM, "ops": [{"type": "merge", "path": "", "value": {"m": [{}]}}]}),
    ("stream::update", {**ITEM, "ops": [{"type": "append", "path": "list", "value": {"z": []}}]}),
    ("stream::list", GROUP),
    ("stream::list_groups", {"stream_name": "chat"}),
    ("stream::list_all", {}),
    ("stream::send", {**GROUP, "type": "note", "data": nested(5)}),
    ("state::set", {**STATE, "value": nested(6)}),
    ("state::set", {**STATE, "value": nested(7)}),
    ("state::update", {**STATE, "ops": [{"type": "set", "path": "n", "value": {"deep": [8]}}]}),
    ("state::get", STATE),
    ("state::list", {"scope": "s"}),
    ("state::list_groups", {}),
    ("stream::delete", OTHER),
    ("state::set", {**STATE, "value": nested(9)}),
    ("state::delete", STATE),
]

INPUTS: dict[str, type[msgspec.Struct]] = {
    "stream::set": StreamSetInput,
    "stream::get": StreamGetInput,
    "stream::update": StreamUpdateInput,
    "stream::list": StreamListInput,
    "stream::list_groups": StreamListGroupsInput,
    "stream::list_all": StreamListAllInput,
    "stream::send": StreamSendInput,
    "stream::delete": StreamDeleteInput,
    "state::set": StateSetInput,
    "state::update": StateUpdateInput,
    "state::get": StateGetInput,
    "state::list": StateListInput,
    "state::list_groups": StateListGroupsInput,
    "state::delete": StateDeleteInput,
}


def vandalise(value: Any) -> int:
    """Mark every object and array inside ``value`` (through Structs and their lists); returns
    how many containers were marked."""
    found: list[Any] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, msgspec.Struct):
            stack.extend(getattr(node, name) for name in node.__struct_fields__)
        elif type(node) is dict:
            found.append(node)
            stack.extend(node.values())
        elif type(node) is list:
            found.append(node)
            stack.extend(node)
    for container in found:  # marked after the walk, so that no mark is walked into
        if type(container) is dict:
            container[MARK] = MARK
        else:
            container.append(MARK)
    return len(found)


def stored(store: Store) -> bytes:
    """Every stored value, encoded straight from the store (``call_json`` copies nothing)."""
    return b"\n".join(
        [
            store.call_json("stream::list", msgspec.json.encode(GROUP)),
            store.call_json("state::list", b'{"scope": "s"}'),
        ]
    )


def run_with_vandals(store: Store, call: Callable[[str, dict[str, Any]], Any]) -> None:
    """Run :data:`CALLS` through ``call`` (which returns the result and whatever the caller
    passed in, to be mutated afterwards) beside mutating and reading handlers; check that no
    mark reaches the store, a later result, or a reader's event."""
    vandalised: list[int] = []
    readers: list[tuple[ChangeEvent, bytes]] = []
    shared: list[tuple[ChangeEvent, bytes]] = []

    def vandal(event: ChangeEvent) -> None:
        vandalised.append(vandalise(event))

    def reader(into: list[tuple[ChangeEvent, bytes]]) -> Callable[[ChangeEvent], None]:
        return lambda event: into.append((event, msgspec.json.encode(event)))

    store.watch(vandal)
    store.watch(reader(readers))
    store.watch(reader(shared), private_copies=False)
    store.watch(vandal)
    results = 0
    for function_id, payload in CALLS:
        result, passed = call(function_id, msgspec.json.decode(msgspec.json.encode(payload)))
        encoded = msgspec.json.encode(result)
        assert MARK.encode() not in encoded, function_id
        vandalise(passed)
        marked = vandalise(result)
        assert marked or result is None, function_id
        results += marked
        store.sync_events()
        assert MARK.encode() not in stored(store), function_id
    assert results > 100  # the results did hold containers to mutate
    events = 2 * sum(1 for function_id, _ in CALLS if function_id.split("::")[1] in WRITES)
    assert len(vandalised) == events and all(vandalised)
    assert len(readers) == len(shared) == events // 2
    for event, at_delivery in readers + shared:
        assert msgspec.json.encode(event) == at_delivery
        assert MARK.encode() not in at_delivery


WRITES = {"set", "update", "delete", "send"}


def test_call_results_and_events_alias_nothing(store: Store) -> None:
    def call(function_id: str, payload: dict[str, Any]) -> tuple[Any, Any]:
        return store.call(function_id, payload), payload

    run_with_vandals(store, call)


def test_typed_results_and_events_alias_nothing(store: Store) -> None:
    def call(function_id: str, payload: dict[str, Any]) -> tuple[Any, Any]:
        request = msgspec.convert(payload, INPUTS[function_id])
        method = getattr(store, function_id.replace("::", "_"))
        return method(request), request

    run_with_vandals(store, call)
