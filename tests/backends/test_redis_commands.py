"""The Redis drivers' own command path: the sync driver packs its commands itself and keeps pool
connections while idle, so a flushed script cache, a connection Redis closed and threads sharing
one store must all go on working, exactly once per write; and the typed methods, declared once
for both faces, are plain methods on a sync store and coroutine functions on an async one."""

from __future__ import annotations

import asyncio
import inspect
import multiprocessing
import threading

import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st
from redis.connection import Connection

from iii_core.backends import MemoryStore, Store
from iii_core.backends._redis_common import field_pairs, pack_command
from iii_core.backends._typed import TypedMethod, TypedMethods
from iii_core.backends.redis import RedisStore
from iii_core.store import _functions as table
from iii_core.stream import StreamGetInput, StreamSetInput
from tests.redis_server import RedisServer

ITEM = {"stream_name": "s", "group_id": "g", "item_id": "i"}
INCREMENT = [{"type": "increment", "path": "n", "by": 1}]


def test_a_flushed_script_cache_is_loaded_again(shared_store: Store, raw: redis.Redis) -> None:
    shared_store.call("stream::set", {**ITEM, "data": {"n": 0}})
    raw.script_flush()
    shared_store.call("stream::update", {**ITEM, "ops": INCREMENT})
    shared_store.call("stream::update", {**ITEM, "ops": INCREMENT})
    assert shared_store.call("stream::get", ITEM) == {"n": 2}


def test_connections_redis_closed_are_replaced_and_no_write_is_lost_or_doubled(
    redis_server: RedisServer, raw: redis.Redis
) -> None:
    redis_server.flush()
    with RedisStore.from_url(redis_server.url) as store:
        store.call("stream::set", {**ITEM, "data": {"n": 0}})
        for _ in range(3):
            killed = raw.client_kill_filter(_type="normal", skipme=True)
            assert killed >= 1  # the store's idle connection, closed by Redis
            store.call("stream::update", {**ITEM, "ops": INCREMENT})
            raw.client_kill_filter(_type="normal", skipme=True)
            assert store.call("stream::get", ITEM) is not None
    assert raw.hget("stream:s:g", "i") == b'{"n":3}'


def test_threads_sharing_one_store_each_write_exactly_once(redis_server: RedisServer) -> None:
    redis_server.flush()
    with RedisStore.from_url(redis_server.url) as store:
        store.call("stream::set", {**ITEM, "data": {"n": 0}})

        def writer() -> None:
            for _ in range(50):
                store.call("stream::update", {**ITEM, "ops": INCREMENT})
                store.call("stream::get", ITEM)

        threads = [threading.Thread(target=writer) for _ in range(12)]  # more than it keeps idle
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert store.call("stream::get", ITEM) == {"n": 600}


def test_a_forked_child_uses_connections_of_its_own(redis_server: RedisServer) -> None:
    redis_server.flush()
    with RedisStore.from_url(redis_server.url) as store:
        store.call("stream::set", {**ITEM, "data": {"n": 0}})  # a connection kept, idle
        child = multiprocessing.get_context("fork").Process(target=_updates, args=(store, 300))
        child.start()
        _updates(store, 300)
        child.join(timeout=60)
        assert child.exitcode == 0
        assert store.call("stream::get", ITEM) == {"n": 600}


def _updates(store: Store, count: int) -> None:
    for _ in range(count):
        store.call("stream::update", {**ITEM, "ops": INCREMENT})


_ARGUMENT = st.one_of(
    st.binary(max_size=300),
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=50),
    st.integers(min_value=-(2**63), max_value=2**64),
)


@given(st.lists(_ARGUMENT, max_size=12))
def test_pack_command_packs_as_redis_py_does(arguments: list[bytes | str | int]) -> None:
    command = ("EVALSHA", *arguments)
    redis_py = Connection().pack_command(*command)  # type: ignore[no-untyped-call]
    assert pack_command(command) == b"".join(redis_py)


def test_field_pairs_read_both_shapes_of_an_hgetall_reply() -> None:
    flat = [b"a", b"1", b"b\xff", b"2"]
    mapping = {b"a": b"1", b"b\xff": b"2"}
    assert field_pairs(flat) == field_pairs(mapping) == [("a", b"1"), ("b\ufffd", b"2")]
    assert field_pairs([]) == field_pairs({}) == []


def test_typed_methods_follow_the_face_of_their_store() -> None:
    store = MemoryStore()
    request = StreamSetInput(stream_name="s", group_id="g", item_id="i", data=1)
    assert not inspect.iscoroutinefunction(store.stream_set)
    assert store.stream_set(request).new_value == 1
    face = store.as_async()
    assert inspect.iscoroutinefunction(face.stream_get)
    assert face.stream_get.__name__ == "stream_get"
    assert (
        asyncio.run(face.stream_get(StreamGetInput(stream_name="s", group_id="g", item_id="i")))
        == 1
    )
    declared = {
        name for name in vars(TypedMethods) if isinstance(vars(TypedMethods)[name], TypedMethod)
    }
    assert declared == {function.method for function in table.FUNCTIONS.values()}


def test_a_typed_method_under_another_name_is_refused() -> None:
    with pytest.raises(TypeError, match=r"Broken.stream_gets is declared for stream::get"):
        TypedMethod(table.STREAM_GET).__set_name__(type("Broken", (), {}), "stream_gets")
