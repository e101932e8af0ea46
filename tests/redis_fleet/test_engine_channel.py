"""The engine's ``stream::events`` messages: iii-core writes them as the engine's serde_json does
and reads every message the engine writes.

The reference model here is serde_json's output, written independently of the codec: compact
JSON, ``StreamWrapperMessage`` fields in declaration order, every object of a value with sorted
keys (``Value`` is a ``BTreeMap``), strings escaped as serde_json escapes them, floats in the
shortest round-trip form (``ryu``, e.g. ``1e16`` and ``123456789012340.0``).
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from iii_core._generated.stream import StreamChangeEvent
from iii_core.backends._engine_channel import (
    ENGINE_CHANNEL,
    OWN_COPY_PREFIX,
    decode_engine_message,
    encode_engine_message,
    is_own_copy,
)
from iii_core.store._events import custom_change, item_change, stream_event
from tests.jsonvalues import same_json, snapshot
from tests.property.strategies import I64_MAX, I64_MIN, U64_MAX

texts = st.text(max_size=6)
keys = st.one_of(st.sampled_from(["a", "B", "é", "\u00e9\u0301", "", "\n", "z", "ā", "😀"]), texts)
exact_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(I64_MIN, U64_MAX), st.text(max_size=8)
)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)


def values(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
        ),
        max_leaves=12,
    )


ITEM_KINDS: list[Literal["create", "update", "delete"] | None] = [
    "create",
    "update",
    "delete",
    None,
]


@st.composite
def change_events(draw: st.DrawFn, scalars: st.SearchStrategy[Any]) -> StreamChangeEvent:
    # None: a stream::send event.
    kind = draw(st.sampled_from(ITEM_KINDS))
    data = draw(values(scalars))
    change = custom_change(draw(texts), data) if kind is None else item_change(kind, data)
    item_id = draw(st.one_of(st.none(), texts)) if kind is None else draw(texts)
    return stream_event(
        now_ms=draw(st.integers(I64_MIN, I64_MAX)),
        stream_name=draw(texts),
        group_id=draw(texts),
        item_id=item_id,
        change=change,
    )


def serde_string(text: str) -> str:
    # serde_json escapes '"', '\\' and control characters (\b \f \n \r \t, else \u00xx
    # lowercase), nothing else: the same as json.dumps without ensure_ascii.
    return json.dumps(text, ensure_ascii=False)


def serde_number(number: int | float) -> str:
    if isinstance(number, int):
        return str(number)
    text = repr(number)  # shortest round trip, like ryu; then ryu's layout
    if "e" in text:
        mantissa, exponent = text.split("e")
        mantissa = mantissa.removesuffix(".0")
        return f"{mantissa}e{int(exponent)}"
    return text


def serde_text(value: Any) -> str:
    """serde_json::to_string of a serde_json::Value holding ``value``."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int | float):
        return serde_number(value)
    if isinstance(value, str):
        return serde_string(value)
    if isinstance(value, list):
        return "[" + ",".join(serde_text(item) for item in value) + "]"
    return "{" + ",".join(serde_string(k) + ":" + serde_text(value[k]) for k in sorted(value)) + "}"


def engine_text(event: StreamChangeEvent) -> str:
    """The StreamWrapperMessage text the engine PUBLISHes for ``event``."""
    detail = event.event
    if detail.type == "event":
        assert not isinstance(detail.event, msgspec.UnsetType)
        inner = f'{{"type":"event","event":{{"type":{serde_string(detail.event.type)},"data":{serde_text(detail.event.data)}}}}}'
    else:
        inner = f'{{"type":"{detail.type}","data":{serde_text(detail.data)}}}'
    item_id = "null" if event.id is None else serde_string(str(event.id))
    return (
        f'{{"type":"stream","timestamp":{event.timestamp},"streamName":{serde_string(event.stream_name)},'
        f'"groupId":{serde_string(event.group_id)},"id":{item_id},"event":{inner}}}'
    )


def test_the_channel_is_the_engines() -> None:
    assert ENGINE_CHANNEL == "stream::events"


@given(change_events(exact_scalars))
def test_iii_core_writes_the_engines_text_with_its_own_copy_mark(event: StreamChangeEvent) -> None:
    before = msgspec.json.encode(event)
    encoded = encode_engine_message(event)
    assert msgspec.json.encode(event) == before
    assert encoded.startswith(OWN_COPY_PREFIX)
    # Exactly the engine's text once the one insignificant tab is removed.
    assert b"{" + encoded[len(OWN_COPY_PREFIX) :] == engine_text(event).encode()
    assert is_own_copy(encoded)


@given(change_events(st.one_of(exact_scalars, finite_floats)))
def test_floats_are_the_same_numbers_as_the_engines(event: StreamChangeEvent) -> None:
    # Float texts may differ in layout (1e16 / 1e+16); the values a JSON reader gets may not.
    encoded = json.loads(encode_engine_message(event))
    assert same_json(encoded, json.loads(engine_text(event)))


@given(change_events(st.one_of(exact_scalars, finite_floats)))
def test_every_engine_message_decodes_to_the_same_event(event: StreamChangeEvent) -> None:
    text = engine_text(event).encode()
    assert not is_own_copy(text)
    decoded = decode_engine_message(text)
    assert decoded is not None
    assert same_json(msgspec.to_builtins(decoded), msgspec.to_builtins(event))


@given(change_events(st.one_of(exact_scalars, finite_floats)))
def test_round_trip(event: StreamChangeEvent) -> None:
    decoded = decode_engine_message(encode_engine_message(event))
    assert decoded is not None
    assert same_json(msgspec.to_builtins(decoded), msgspec.to_builtins(event))


CJSON_NUMBER_FORMS = [
    # serde_json's text of an f64 parsed from cjson's %.14g output, and that output itself
    ("123456789012340.0", 123456789012340.0),
    ("1e16", 1e16),
    ("1.2345678901234e20", 1.2345678901234e20),
    ("9.2233720368548e18", 9.2233720368548e18),
    ("1.5e-7", 1.5e-7),
    ("-0.0", -0.0),
    ("1.2345678901234e+14", 123456789012340.0),
    # cjson's text of -0.0, and an integer beyond u64: serde_json reads both as f64
    ("-0", -0.0),
    ("18446744073709551616", 18446744073709551616.0),
]


@pytest.mark.parametrize(("text", "number"), CJSON_NUMBER_FORMS)
def test_numbers_in_every_form_the_engine_may_send(text: str, number: float) -> None:
    message = (
        '{"type":"stream","timestamp":1,"streamName":"s","groupId":"g","id":"i",'
        f'"event":{{"type":"update","data":{{"n":{text},"tags":{{}},"url":"a\\/b"}}}}}}'
    )
    decoded = decode_engine_message(message.encode())
    assert decoded is not None
    data = decoded.event.data
    assert isinstance(data, dict)
    assert data["tags"] == {} and data["url"] == "a/b"
    assert type(data["n"]) is float and data["n"] == number
    assert math.copysign(1, data["n"]) == math.copysign(1, number)


def test_what_serde_would_read_is_read() -> None:
    # Unknown fields are ignored, an absent `id` is null, fields of other variants are dropped.
    message = (
        b'{"extra":1,"type":"stream","timestamp":1,"streamName":"s","groupId":"g",'
        b'"event":{"type":"delete","data":[1],"event":{"type":"x","data":2}}}'
    )
    decoded = decode_engine_message(message)
    assert decoded is not None
    assert msgspec.to_builtins(decoded) == {
        "type": "stream",
        "timestamp": 1,
        "streamName": "s",
        "groupId": "g",
        "event": {"type": "delete", "data": [1]},
        "id": None,
    }


@pytest.mark.parametrize(
    "message",
    [
        b"",
        b"[" * 100_000,
        b"{" * 100_000,
        b'{"type":"stream","event":' * 50_000,
        b"not json",
        b"iii-core:sync:abc",
        b"[]",
        b'{"type":"state","event_type":"state:created","scope":"s","key":"k"}',
        b'{"type":"stream","timestamp":1,"streamName":"s","groupId":"g","id":null,"event":{"type":"sync","data":[]}}',
        b'{"type":"stream","timestamp":1,"streamName":"s","groupId":"g","id":null,"event":{"type":"unauthorized"}}',
        b'{"type":"stream","timestamp":1,"streamName":"s","groupId":"g","id":"i","event":{"type":"create"}}',
        b'{"type":"stream","timestamp":1,"streamName":"s","groupId":"g","id":"i","event":{"type":"event","data":1}}',
        b'{"type":"stream","timestamp":"1","streamName":"s","groupId":"g","id":"i","event":{"type":"create","data":1}}',
        b'{"type":"stream","timestamp":1,"streamName":"s","groupId":"g","id":"i","event":{"type":"create","data":1}',
    ],
)
def test_anything_else_is_not_a_change(message: bytes) -> None:
    assert decode_engine_message(message) is None


@given(st.binary(max_size=64))
def test_no_bytes_raise(data: bytes) -> None:
    decode_engine_message(data)


def test_a_socket_only_event_is_refused_on_encode() -> None:
    event = stream_event(
        now_ms=1, stream_name="s", group_id="g", item_id=None, change=item_change("create", 1)
    )
    sync = msgspec.structs.replace(event, event=msgspec.structs.replace(event.event, type="sync"))
    with pytest.raises(ValueError, match="sync"):
        encode_engine_message(sync)


def test_values_are_not_copied_or_changed() -> None:
    data = {"b": [1, {"d": 2, "c": 3}], "a": None}
    kept = snapshot(data)
    event = stream_event(
        now_ms=1, stream_name="s", group_id="g", item_id="i", change=item_change("create", data)
    )
    encode_engine_message(event)
    assert same_json(data, kept) and list(data) == ["b", "a"]
