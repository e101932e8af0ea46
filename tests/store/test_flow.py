"""The call flow over the storage protocol: driven sync and async over a plain dict driver, it
answers as the pure transitions and reads do; conflicts are retried from the current value and
bounded; payload depth is bounded without recursion; undecodable stored forms are errors."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from iii_core.store import (
    MAX_PAYLOAD_DEPTH,
    MAX_WRITE_ATTEMPTS,
    Changed,
    CompareAndSet,
    ListKeys,
    Publish,
    ReadField,
    ReadHash,
    StoreCallError,
    call_flow,
    run_flow,
    run_flow_async,
)
from iii_core.update import MISSING

ITEM = {"stream_name": "chat", "group_id": "room", "item_id": "m1"}


class DictStorage:
    """A storage driver over nested dicts; ``interfere`` lets a test change an item between a
    read and the compare-and-set, as another writer would."""

    def __init__(self, *, encoded: bool = False) -> None:
        self.hashes: dict[str, dict[str, Any]] = {}
        self.published: list[Any] = []
        self.encoded = encoded
        self.interfere: list[Any] = []
        self.ops: list[Any] = []

    def _form(self, value: Any) -> Any:
        return msgspec.json.encode(value) if self.encoded else value

    def read_field(self, op: ReadField) -> Any:
        self.ops.append(op)
        return self.hashes.get(op.hash_key, {}).get(op.field, MISSING)

    def read_hash(self, op: ReadHash) -> list[Any]:
        self.ops.append(op)
        fields = self.hashes.get(op.hash_key, {})
        return list(fields.items() if op.fields else fields.values())

    def list_keys(self, op: ListKeys) -> list[str]:
        self.ops.append(op)
        return [key for key in self.hashes if key.startswith(op.prefix)]

    def compare_and_set(self, op: CompareAndSet) -> Changed | None:
        self.ops.append(op)
        fields = self.hashes.setdefault(op.hash_key, {})
        if self.interfere:
            fields[op.field] = self._form(self.interfere.pop())
        current = fields.get(op.field, MISSING)
        if current is not op.expected:
            return Changed(current)
        if op.write:
            if op.new is MISSING:
                fields.pop(op.field, None)
            else:
                fields[op.field] = self._form(op.new)
        self.published.extend(op.events)
        return None

    def publish(self, op: Publish) -> None:
        self.ops.append(op)
        self.published.extend(op.events)


class AsyncDictStorage:
    def __init__(self, storage: DictStorage) -> None:
        self.storage = storage

    async def read_field(self, op: ReadField) -> Any:
        return self.storage.read_field(op)

    async def read_hash(self, op: ReadHash) -> list[Any]:
        return self.storage.read_hash(op)

    async def list_keys(self, op: ListKeys) -> list[str]:
        return self.storage.list_keys(op)

    async def compare_and_set(self, op: CompareAndSet) -> Changed | None:
        return self.storage.compare_and_set(op)

    async def publish(self, op: Publish) -> None:
        self.storage.publish(op)


def run(storage: DictStorage, function_id: str, payload: Any, now_ms: int = 7) -> Any:
    return msgspec.to_builtins(run_flow(call_flow(function_id, payload, now_ms), storage))


@pytest.mark.parametrize("encoded", [False, True])
def test_sync_and_async_drivers_give_the_same_answers(encoded: bool) -> None:
    calls: list[tuple[str, Any]] = [
        ("stream::set", {**ITEM, "data": {"n": 1}}),
        ("stream::update", {**ITEM, "ops": [{"type": "increment", "path": "n", "by": 2}]}),
        ("stream::get", ITEM),
        ("stream::list", {"stream_name": "chat", "group_id": "room"}),
        ("stream::list_groups", {"stream_name": "chat"}),
        ("stream::list_all", {}),
        ("stream::send", {"stream_name": "chat", "group_id": "room", "type": "t", "data": 1}),
        ("stream::delete", ITEM),
        ("stream::delete", ITEM),
        ("state::delete", {"scope": "s", "key": "k"}),
        ("state::set", {"scope": "s", "key": "k", "data": [1]}),
        ("state::list_groups", {}),
    ]
    sync, other = DictStorage(encoded=encoded), DictStorage(encoded=encoded)
    wrapped = AsyncDictStorage(other)
    for function_id, payload in calls:
        flow = call_flow(function_id, payload, 7)
        answer = msgspec.to_builtins(asyncio.run(run_flow_async(flow, wrapped)))
        assert run(sync, function_id, payload) == answer
    assert msgspec.to_builtins(sync.published) == msgspec.to_builtins(other.published)
    kinds = [e["event"]["type"] for e in msgspec.to_builtins(sync.published)[:4]]
    assert kinds == ["create", "update", "event", "delete"]
    assert len(sync.published) == 6  # the delete of a missing item emits nothing


def test_a_conflict_is_retried_from_the_current_value_without_a_read() -> None:
    storage = DictStorage()
    run(storage, "stream::set", {**ITEM, "data": {"n": 1}})
    storage.ops.clear()
    storage.interfere = [{"n": 10}]
    result = run(
        storage, "stream::update", {**ITEM, "ops": [{"type": "increment", "path": "n", "by": 1}]}
    )
    assert result == {"old_value": {"n": 10}, "new_value": {"n": 11}}
    assert [type(op).__name__ for op in storage.ops] == [
        "ReadField",
        "CompareAndSet",
        "CompareAndSet",
    ]
    assert [op.attempt for op in storage.ops[1:]] == [0, 1]
    assert storage.ops[0].fresh is False
    assert len(storage.published) == 2  # the set, and the update that won; never the loser


def test_conflicts_are_bounded() -> None:
    storage = DictStorage()
    storage.interfere = [{"n": i} for i in range(MAX_WRITE_ATTEMPTS)]
    with pytest.raises(StoreCallError) as raised:
        run(storage, "stream::set", {**ITEM, "data": 1})
    assert raised.value.code == "STORE_CONFLICT"
    assert storage.published == []


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [MAX_PAYLOAD_DEPTH, MAX_PAYLOAD_DEPTH + 1, 1_000, 100_000])
def test_payload_depth_is_bounded_without_recursion(depth: int) -> None:
    storage = DictStorage()
    # the payload object is one level, as serde_json counts it
    payload = {**ITEM, "data": nested(depth - 1)}
    if depth <= MAX_PAYLOAD_DEPTH:
        run(storage, "stream::set", payload)
        assert storage.hashes
        return
    with pytest.raises(StoreCallError) as raised:
        call_flow("stream::set", payload, 1)
    assert raised.value.code == "deserialization_error"
    assert raised.value.message == (
        "Failed to deserialize input for stream::set: recursion limit exceeded"
    )


def test_undecodable_stored_data_names_the_item() -> None:
    storage = DictStorage(encoded=True)
    storage.hashes["stream:chat:room"] = {"m1": b"not json", "m2": b"1"}
    for function_id, payload in (
        ("stream::get", ITEM),
        ("stream::list", {"stream_name": "chat", "group_id": "room"}),
        ("stream::update", {**ITEM, "ops": []}),
    ):
        with pytest.raises(StoreCallError) as raised:
            run(storage, function_id, payload)
        assert raised.value.code == "STORE_BAD_DATA"
        assert "'m1'" in raised.value.message
        assert "'stream:chat:room'" in raised.value.message
    assert storage.hashes["stream:chat:room"]["m1"] == b"not json"
