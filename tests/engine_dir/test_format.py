"""The engine's file format, from fixtures written byte by byte from the engine's code.

Sources (iii-hq/iii at bacffa0d3, Cargo.lock: rkyv 0.8.16, serde_json 1.0.149, zmij 1.0.21):
- engine/src/builtins/kv.rs:55 ``encode_index``, :68 ``decode_index``, :85 ``index_file_name``,
  :89 ``index_from_path``, :95 ``load_store_from_dir`` (only ``*.bin`` files, rkyv then JSON),
  :147 ``persist_index_to_disk`` (:160 ``serde_json::to_string`` of the ``IndexMap``, :161
  ``rkyv::to_bytes(&KeyStorage(json))``, written to ``NAME.bin.tmp`` and renamed);
- rkyv/src/string/repr.rs:173 ``emplace_inline`` (0xff fill, up to 8 bytes inline), :200
  ``try_emplace_out_of_line`` (length tagged ``10`` in bits 6-7, little endian; i32 offset),
  rkyv/src/impls/core/mod.rs:390 (the string's bytes first, at position 0),
  rkyv/src/ser/writer/mod.rs:94 ``align`` (zero padding to the root's alignment, 4);
- serde_json/src/ser.rs:1786 and :2147 (escapes: ``\\b \\t \\n \\f \\r``, other controls
  ``\\u00xx`` lower-case, nothing else), :1716 ``write_f64`` via zmij (src/lib.rs:1010 ``write``:
  plain notation for exponents -5..=15, otherwise ``e+N`` / ``e-N``); serde_json's ``Map`` is a
  ``BTreeMap`` (no ``preserve_order``), so nested object keys come out sorted.
"""

from __future__ import annotations

import json
import struct
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from iii_core.backends._engine_dir_format import (
    EngineFormatError,
    archive_text,
    decode_index,
    decode_index_file,
    encode_index,
    encode_index_file,
    engine_value,
    format_f64,
    index_file_name,
    index_from_file_name,
    item_part,
    nesting_depth,
    unarchive_text,
)
from tests.jsonvalues import same_json, snapshot

# -- fixtures: exactly the bytes persist_index_to_disk writes ------------------------------------

# `{"a":1}` is 7 bytes: inline, then one 0xff (repr.rs:185 fills all 8 bytes with 0xff first).
SMALL = b'{"a":1}' + b"\xff"
# Exactly 8 bytes: inline with no 0xff at all (the length is 8 when no 0xff is found).
EIGHT = b'{"a":12}'
# An empty index never reaches disk normally (its file is deleted), but `{}` is 2 bytes inline.
EMPTY_MAP = b"{}" + b"\xff" * 6

# An item with a nested object (keys sorted: BTreeMap), floats as zmij writes them, an integer
# above i64::MAX (u64), unicode written raw and control characters escaped as serde_json does.
NESTED_TEXT = (
    b'{"item-2":{"a":[1e+16,1.5e-7,0.00001,-0.0,100.0,18446744073709551615],"b":null,"z":true},'
    b'"\xc3\xa9\xf0\x9f\x98\x80":"\\u0000\\u001f\\b\\t\\n\\f\\r\\"\\\\\x7f\xe2\x80\xa8/"}'
)
NESTED_ITEMS = {
    "item-2": {
        "z": True,
        "b": None,
        "a": [1e16, 1.5e-7, 0.00001, -0.0, 100.0, 18446744073709551615],
    },
    "é😀": '\x00\x1f\b\t\n\f\r"\\\x7f\u2028/',
}
assert len(NESTED_TEXT) == 132
# 132 bytes of text at position 0, already a multiple of 4 (no padding), then the root: length
# 132 = 0b10_000100 -> low six bits 0b000100 | 0b1000_0000 tag | (128 << 2) = 0x284, and the
# offset from the root (132) back to 0: -132.
NESTED = NESTED_TEXT + bytes.fromhex("84020000") + bytes.fromhex("7cffffff")
# A padded one: 9 bytes of text, 3 zero bytes, length 9 | tag = 0x89, offset -12.
PADDED = b'{"ab":12}' + b"\x00\x00\x00" + bytes.fromhex("89000000") + bytes.fromhex("f4ffffff")

# A large value: `{"big":"` (8) + 69,990 x + `"}` (2) = 70,000 bytes, already 4-aligned;
# 70000 & 0x3f = 48 -> 0xb0 with the tag; (70000 & ~0x3f) << 2 = 279808 = 0x44500 -> 0x445b0;
# offset -70000 = 0xfffeee90.
LARGE = b'{"big":"' + b"x" * 69_990 + b'"}' + bytes.fromhex("b0450400") + bytes.fromhex("90eefeff")


@pytest.mark.parametrize(
    ("data", "items"),
    [
        (SMALL, {"a": 1}),
        (EIGHT, {"a": 12}),
        (EMPTY_MAP, {}),
        (NESTED, NESTED_ITEMS),
        (PADDED, {"ab": 12}),
        (LARGE, {"big": "x" * 69_990}),
    ],
    ids=["inline-7", "inline-8", "empty-map", "nested-unicode", "padded", "large-70k"],
)
def test_engine_bytes_read_and_write_back_identical(data: bytes, items: dict[str, Any]) -> None:
    read = decode_index_file(data)
    assert same_json(read, items)
    assert list(read) == list(items)
    assert encode_index_file(read) == data
    assert encode_index_file(items) == data


def test_insertion_order_is_kept_and_nested_keys_are_sorted() -> None:
    # BTreeMap<String, _> orders keys by their UTF-8 bytes: code point order, so U+FFFF comes
    # before U+1F600 (UTF-16 order would put it after).
    items = {"z": {"b": 1, "a": 2}, "a": 1, "m": {"😀": 0, "\uffff": 4, "é": 1, "e": 2, "Z": 3}}
    text = unarchive_text(encode_index_file(items))
    assert text == (
        b'{"z":{"a":2,"b":1},"a":1,'
        b'"m":{"Z":3,"e":2,"\xc3\xa9":1,"\xef\xbf\xbf":4,"\xf0\x9f\x98\x80":0}}'
    )
    assert list(decode_index_file(encode_index_file(items))) == ["z", "a", "m"]


# -- file names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "file_name"),
    [
        # kv.rs:1438-1482, the engine's own examples
        ("simple", "simple.bin"),
        ("with-dashes", "with-dashes.bin"),
        ("with.dots", "with.dots.bin"),
        ("with space", "with%20space.bin"),
        ("with/slash", "with%2Fslash.bin"),
        ("a@b", "a%40b.bin"),
        # stream indexes (stream/adapters/kv_store.rs:47 gen_key) and UTF-8 bytes, upper-case hex
        ("stream:chat:room-1", "stream%3Achat%3Aroom-1.bin"),
        ("stream:chat:", "stream%3Achat%3A.bin"),
        ("stream:日本:ü", "stream%3A%E6%97%A5%E6%9C%AC%3A%C3%BC.bin"),
        ("100%", "100%25.bin"),
        ("", ".bin"),
    ],
)
def test_index_file_names(index: str, file_name: str) -> None:
    assert index_file_name(index) == file_name
    expected = None if index == "" else index
    assert index_from_file_name(file_name) == expected


@pytest.mark.parametrize(
    ("name", "index"),
    [
        ("test.txt", None),
        ("test", None),
        ("test.bin.tmp", None),  # a temp file left by a crash between write and rename
        (".bin", None),  # Path::extension: a leading dot alone is no extension
        (".x.bin", ".x"),
        ("a%2fb.bin", "a/b"),  # to_digit(16) takes lower case too
        ("a b.bin", "a b"),  # characters that were never encoded are taken as they are
        ("%.bin", None),
        ("%2.bin", None),
        ("%ZZ.bin", None),
        ("%FF.bin", None),  # not UTF-8 once decoded
        ("caf\udce9.bin", "caf\ufffd"),  # a non-UTF-8 name is read lossily (to_string_lossy)
    ],
)
def test_which_files_the_engine_loads(name: str, index: str | None) -> None:
    assert index_from_file_name(name) == index


@given(st.text())
def test_index_names_round_trip(index: str) -> None:
    encoded = encode_index(index)
    assert set(encoded) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.%")
    assert decode_index(encoded) == index
    reference = "".join(
        chr(b) if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "-_.") else f"%{b:02X}"
        for b in index.encode()
    )
    assert encoded == reference


# -- numbers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1.0"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (1e15, "1000000000000000.0"),
        (1e16, "1e+16"),
        (1.5e16, "1.5e+16"),
        (1e-5, "0.00001"),
        (1e-6, "1e-6"),
        (0.001234, "0.001234"),
        (5.444310685350916e14, "544431068535091.6"),  # zmij tests/test.rs
        (9.061488e15, "9061488000000000.0"),
        (6.62607015e-34, "6.62607015e-34"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (3.439070283483335e35, "3.439070283483335e+35"),
    ],
)
def test_floats_as_zmij_writes_them(value: float, text: str) -> None:
    assert format_f64(value) == text


def _zmij_reference(value: float) -> str:
    """An independent model: Decimal's digits of repr, laid out by zmij's rules."""
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    exp10 = len(text) - 1 + exponent
    prefix = "-" if sign else ""
    if text == "0":
        return prefix + "0.0"
    if -5 <= exp10 <= 15:
        return prefix + (
            f"{Decimal(repr(abs(value))):f}"
            if exp10 < len(text) - 1
            else text + "0" * (exp10 - len(text) + 1) + ".0"
        )
    head = text[0] + ("." + text[1:] if len(text) > 1 else "")
    return f"{prefix}{head}e{'+' if exp10 >= 0 else '-'}{abs(exp10)}"


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_text_round_trips_and_matches_models(value: float) -> None:
    text = format_f64(value)
    assert float(text) == value
    assert str(float(text)) == str(value)  # same sign of zero, same digits
    assert text == _zmij_reference(value)
    # msgspec runs ryu, whose digits and layout zmij matches except for "e+" (zmij
    # tests/ryu_comparison.rs).
    assert text == msgspec.json.encode(value).decode().replace("e", "e+").replace("e+-", "e-")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (b'{"a":18446744073709551615}', 18446744073709551615),  # u64::MAX stays an integer
        (b'{"a":18446744073709551616}', 1.8446744073709552e19),  # above: an f64
        (b'{"a":-9223372036854775808}', -9223372036854775808),
        (b'{"a":-9223372036854775809}', -9.223372036854776e18),
        (b'{"a":-0}', -0.0),  # de.rs:519 "Convert into a float ... on `-0`"
        (b'{"a": [ -0 ]}', [-0.0]),
        (b'{"x:-0":1, "a":"y,-0 [-0"}', "y,-0 [-0"),  # only numbers are read differently
        (b'{"a":"12345678901234567890123"}', "12345678901234567890123"),
        (b'{"a":1E2}', 100.0),
    ],
)
def test_numbers_are_read_as_serde_json_reads_them(text: bytes, value: Any) -> None:
    read = decode_index_file(archive_text(text))["a"]
    assert type(read) is type(value)
    assert str(read) == str(value)
    assert same_json(read, value)


def test_integers_beyond_the_engine_range_are_written_as_the_f64_it_would_hold() -> None:
    text = unarchive_text(encode_index_file({"a": [2**64, -(2**63) - 1, 10**400 // 10**380]}))
    assert text == b'{"a":[1.8446744073709552e+19,-9.223372036854776e+18,1e+20]}'
    with pytest.raises(EngineFormatError, match="f64 range"):
        encode_index_file({"a": 10**400})


# -- what the engine cannot load is refused, with the reason -------------------------------------


def _out_of_line(text: bytes, *, length: int | None = None, offset: int | None = None) -> bytes:
    pad = -len(text) % 4
    n = len(text) if length is None else length
    tagged = (n & 0x3F) | 0x80 | ((n & ~0x3F) << 2)
    return (
        text
        + bytes(pad)
        + struct.pack("<Ii", tagged, -(len(text) + pad) if offset is None else offset)
    )


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"{}", "shorter than its 8-byte root"),
        (b"x" + SMALL, "not 4-aligned"),
        (_out_of_line(b'{"a":"bcdefg"}', length=5), "length is too short"),
        (_out_of_line(b'{"a":"bcdefg"}', length=200), "outside"),
        (_out_of_line(b'{"a":"bcdefg"}', offset=4), "outside"),
        (_out_of_line(b'{"a":"b\xffcdefg"}'), "not UTF-8"),
        (archive_text(b"[1,2]"), "not a JSON object"),
        (archive_text(b'{"a":1} x'), "not JSON"),
        (archive_text(b'{"a":"\\ud800"}'), "not JSON"),  # a lone surrogate: serde_json refuses it
        (archive_text(b'{"a":"\x01"}'), "not JSON"),
        (archive_text(b'{"a":NaN}'), "not JSON"),
        (archive_text(b'{"a":' + b"[" * 127 + b"]" * 127 + b"}"), "deeper than 127"),
    ],
)
def test_unloadable_bytes_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(EngineFormatError, match=reason):
        decode_index_file(data)


def test_depth_limit_is_serde_jsons() -> None:
    deepest = b'{"a":' + b"[" * 126 + b"]" * 126 + b"}"  # 126 levels + the index map = 127
    assert decode_index_file(archive_text(deepest))["a"] is not None
    value: Any = []
    for _ in range(125):
        value = [value]
    assert encode_index_file({"a": value}) == archive_text(deepest)
    with pytest.raises(EngineFormatError, match="could not load its file again"):
        encode_index_file({"a": [value]})


# -- property tests -----------------------------------------------------------------------------


def _depth(value: Any) -> int:
    """The reference: arrays/objects nested in ``value``, by walking it."""
    if type(value) is list:
        return 1 + max(map(_depth, value), default=0)
    if type(value) is dict:
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)
indexes = st.dictionaries(st.text(), json_values, max_size=6)


tricky_text = st.text(alphabet='[]{}"\\:,-0 aé')


@given(
    st.recursive(
        st.none() | tricky_text,
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(tricky_text, children, max_size=3)
        ),
        max_leaves=30,
    )
)
def test_nesting_depth_equals_a_walk(value: Any) -> None:
    assert nesting_depth(msgspec.json.encode(value)) == _depth(value)


@given(indexes)
def test_index_round_trip(items: dict[str, Any]) -> None:
    before = snapshot(items)
    data = encode_index_file(items)
    assert same_json(items, before)  # input never mutated
    read = decode_index_file(data)
    assert same_json(read, items)
    assert list(read) == list(items)
    assert encode_index_file(read) == data
    # The JSON text is plain JSON another reader agrees with.
    assert json.loads(unarchive_text(data)) == json.loads(msgspec.json.encode(items))


@given(st.binary(max_size=300))
def test_archive_round_trip(raw: bytes) -> None:
    text = raw.decode("utf-8", "replace").encode()
    data = archive_text(text)
    assert unarchive_text(data) == text
    assert len(data) % 4 == 0
    assert len(data) == 8 if len(text) <= 8 else len(data) == len(text) + (-len(text) % 4) + 8


@given(st.binary(max_size=64))
def test_arbitrary_bytes_decode_or_raise_the_typed_error(data: bytes) -> None:
    try:
        items = decode_index_file(data)
    except EngineFormatError:
        return
    assert same_json(decode_index_file(encode_index_file(items)), items)


@given(json_values)
def test_engine_value_is_the_value_read_back(value: Any) -> None:
    part = item_part("k", value)
    held = engine_value(part, value)
    assert same_json(held, decode_index_file(archive_text(b"{" + part + b"}"))["k"])
    assert same_json(held, value)  # integers in i64/u64 range: nothing changes
    assert same_json(engine_value(item_part("k", [2**64]), [2**64]), [2.0**64])


@given(st.text())
def test_the_engine_loads_the_file_it_names_for_every_index_but_the_empty_one(index: str) -> None:
    loaded = index_from_file_name(index_file_name(index))
    assert loaded == (index if index else None)


@given(st.text(alphabet="%0aF.bin-é\udce9", max_size=12))
def test_decoding_a_file_name_never_raises(name: str) -> None:
    index = index_from_file_name(name)
    assert index is None or index_file_name(index).endswith(".bin")
