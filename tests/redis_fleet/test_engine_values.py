"""Values written by the engine's Lua path read here as the engine reads them.

The engine's update script decodes the stored JSON with Redis's cjson, applies the ops and writes
``cjson.encode`` of the result: numbers printed with 14 significant digits (``%.14g``), every
empty array as ``{}``, ``/`` escaped as ``\\/``, keys in Lua's order. The write here goes through
the same cjson of a real redis-server (a script that decodes and re-encodes the document, which
is what the engine's write-back does to the parts its ops leave alone), and the expected value is
what the engine's Rust side reads from that text (serde_json: integers within i64/u64 stay
integers, everything else is an f64).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iii_core.backends.redis import RedisStore
from tests.jsonvalues import same_json
from tests.redis_server import RedisServer

CJSON_WRITE_BACK = """
local text = cjson.encode(cjson.decode(ARGV[2]))
redis.call('HSET', KEYS[1], ARGV[1], text)
return text
"""


def serde_read(text: str) -> Any:
    """What serde_json::from_str gives for ``text`` (as a Python JSON value)."""

    def integer(digits: str) -> int | float:
        number = int(digits)
        if digits.startswith("-") and number == 0:
            return -0.0  # serde_json: "-0" is an f64
        return number if -(2**63) <= number < 2**64 else float(number)

    return json.loads(text, parse_int=integer)


keys = st.sampled_from(["a", "b", "url", "ü", "", "tags"])
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    # Not -0.0: see test_an_engine_negative_zero_reads_as_a_float.
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != 0 or str(x) == "0.0"),
    st.text(alphabet='a/\\"é\n', max_size=4),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(keys, children, max_size=3)
    ),
    max_leaves=10,
)


@pytest.fixture
def stores(redis_server: RedisServer) -> Iterator[tuple[RedisStore, redis.Redis]]:
    redis_server.flush()
    store = RedisStore.from_url(redis_server.url)
    raw = redis.Redis.from_url(redis_server.url)
    yield store, raw
    raw.close()
    store.close()


def engine_write(raw: redis.Redis, hash_key: str, field: str, value: Any) -> str:
    text = raw.eval(CJSON_WRITE_BACK, 1, hash_key, field, json.dumps(value))
    return text.decode() if isinstance(text, bytes) else str(text)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=documents)
def test_engine_written_values_read_as_the_engine_reads_them(
    stores: tuple[RedisStore, redis.Redis], value: Any
) -> None:
    store, raw = stores
    text = engine_write(raw, "stream:s:g", "i", value)
    engine_write(raw, "state:sc", "k", value)
    expected = serde_read(text)
    assert same_json(
        store.call("stream::get", {"stream_name": "s", "group_id": "g", "item_id": "i"}), expected
    )
    assert same_json(store.call("state::get", {"scope": "sc", "key": "k"}), expected)
    assert same_json(store.call("stream::list", {"stream_name": "s", "group_id": "g"}), [expected])
    assert same_json(store.call("state::list", {"scope": "sc"}), [expected])


def test_the_lua_forms_themselves(stores: tuple[RedisStore, redis.Redis]) -> None:
    store, raw = stores
    value = {"tags": [], "n": 123456789012345678, "big": 2**64 - 1, "url": "a/b", "f": 2.0}
    text = engine_write(raw, "stream:s:g", "i", value)
    # The forms this test is about really are what this redis-server's cjson writes.
    assert '"tags":{}' in text and "1.2345678901235e+17" in text and "a\\/b" in text
    assert store.call("stream::get", {"stream_name": "s", "group_id": "g", "item_id": "i"}) == {
        "tags": {},
        "n": 1.2345678901235e17,
        "big": 1.844674407371e19,
        "url": "a/b",
        "f": 2,
    }


def test_iii_core_updates_an_engine_written_value(stores: tuple[RedisStore, redis.Redis]) -> None:
    store, raw = stores
    engine_write(raw, "stream:s:g", "i", {"tags": [], "n": 1, "x": 0.1})
    result = store.call(
        "stream::update",
        {
            "stream_name": "s",
            "group_id": "g",
            "item_id": "i",
            "ops": [{"type": "increment", "path": "n", "by": 2}],
        },
    )
    assert result["old_value"] == {"tags": {}, "n": 1, "x": 0.1}
    assert result["new_value"] == {"tags": {}, "n": 3, "x": 0.1}
    # Written back in iii-core's exact form, which the engine's serde_json and cjson both read.
    assert serde_read(raw.hget("stream:s:g", "i").decode()) == result["new_value"]  # type: ignore[union-attr]


def test_an_engine_negative_zero_reads_as_a_float(stores: tuple[RedisStore, redis.Redis]) -> None:
    store, raw = stores
    text = engine_write(raw, "state:sc", "k", {"z": -0.0})
    assert text == '{"z":-0}'
    assert same_json(store.call("state::get", {"scope": "sc", "key": "k"}), {"z": -0.0})
