"""The iii engine's file-based kv store format, as bytes in and bytes out.

Rules: pure (no I/O). Everything here reproduces ``engine/src/builtins/kv.rs`` of iii-hq/iii at
the reference commit ``bacffa0d3`` (Cargo.lock: rkyv 0.8.16, serde_json 1.0.149 without
``preserve_order``, zmij 1.0.21 for floats), so that an index the engine wrote and we did not
change is written back byte for byte:

- one file per index; the name is the index percent-encoded (``encode_index``: bytes
  ``A-Z a-z 0-9 - _ .`` kept, every other UTF-8 byte ``%XX`` in upper-case hex) plus ``.bin``;
  the engine writes ``NAME.bin.tmp`` and renames it over ``NAME.bin`` (``persist_index_to_disk``);
- the content is ``rkyv::to_bytes(&KeyStorage(json))``: the JSON text of the index's
  insertion-ordered map (``serde_json::to_string(&IndexMap<String, Value>)``) as one archived
  ``String``;
- inside the values, objects have their keys sorted (serde_json's ``Map`` is a ``BTreeMap``),
  floats are written by zmij, strings escaped as serde_json escapes them.

We write the engine's format by hand because no Python library writes rkyv archives or zmij's
float text; msgspec does the JSON (its string escaping and key sorting are serde_json's), and only
the float spelling (``1e+16`` where msgspec writes ``1e16``) and integers outside the engine's
i64/u64 range need a slower exact path.
"""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Iterable, Mapping
from typing import Any, Final

import msgspec

from iii_core.errors import ErrorCode, IIICoreError

__all__ = [
    "INDEX_SUFFIX",
    "MAX_JSON_DEPTH",
    "MAX_TEXT_BYTES",
    "TEMP_SUFFIX",
    "EngineFormatError",
    "archive_text",
    "decode_index",
    "decode_index_file",
    "encode_index",
    "encode_index_file",
    "encode_value",
    "engine_value",
    "format_f64",
    "index_file_name",
    "index_from_file_name",
    "index_json",
    "item_part",
    "join_parts",
    "nesting_depth",
    "parse_index_json",
    "unarchive_text",
]

INDEX_SUFFIX: Final = ".bin"  # kv.rs: KEY_FILE_EXTENSION
TEMP_SUFFIX: Final = ".tmp"  # kv.rs persist_index_to_disk: format!("{}.tmp", file_name)

# rkyv 0.8 ArchivedString with the default format (little-endian, aligned, 32-bit pointers):
# an 8-byte repr (string/repr.rs: INLINE_CAPACITY = size_of::<OutOfLineRepr>() = 4 + 4).
_INLINE_CAPACITY: Final = 8
_ROOT_ALIGN: Final = 4  # align_of::<ArchivedString>() = align_of::<u32_le>()
# string/repr.rs OUT_OF_LINE_CAPACITY = (1 << (FixedUsize::BITS - 2)) - 1
MAX_TEXT_BYTES: Final = (1 << 30) - 1
# serde_json's Deserializer starts with remaining_depth 128 and fails when it reaches 0, so a
# file holds at most 127 nested arrays/objects, the index's own map included (de.rs,
# check_recursion!). A deeper value would be written by the engine and never load again.
MAX_JSON_DEPTH: Final = 127

_KEPT: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
_PERCENT: Final = tuple(chr(b) if b in _KEPT else f"%{b:02X}" for b in range(256))

_sorted_encoder = msgspec.json.Encoder(order="sorted")
_decoder = msgspec.json.Decoder()
# Where msgspec's text may differ from serde_json's: a float with a positive exponent (zmij
# writes "e+"), or a run of 20+ digits (an integer outside u64/i64). False alarms (inside a
# string) only cost the exact path.
_ENCODE_SUSPECT: Final = re.compile(rb"[0-9]e[0-9]|[0-9]{20}")
# Where msgspec's reading differs from serde_json's: integers outside i64/u64 (serde_json
# reads them as f64) and the integer -0 (serde_json reads it as the float -0.0). A number
# follows ':', ',' or '[' (and maybe whitespace); a string that looks so only costs the exact
# path.
_DECODE_SUSPECT: Final = re.compile(rb"[:,\[]\s*(?:-?[0-9]{20}|-[0-9]{19}|-0(?![.eE0-9]))")
_LARGE_EXPONENT: Final = re.compile(rb"[0-9]e\+[0-9]")
_STRING: Final = re.compile(rb'"[^"]*"')
_INNERMOST: Final = re.compile(rb"\[\]|\{\}")
_NOT_STRUCTURE: Final = bytes(b for b in range(256) if b not in b'[]{}"')
_I64_MIN: Final = -(1 << 63)
_U64_MAX: Final = (1 << 64) - 1


class EngineFormatError(IIICoreError, ValueError):
    """Bytes that are not an index file the engine can load, or a value it cannot store."""

    code = ErrorCode.ENGINE_DIR_FORMAT


# -- file names --------------------------------------------------------------------------------


def encode_index(index: str) -> str:
    """kv.rs ``encode_index``: the index's UTF-8 bytes, ``[A-Za-z0-9-_.]`` kept, others ``%XX``."""
    return "".join([_PERCENT[b] for b in index.encode()])


def decode_index(encoded: str) -> str | None:
    """kv.rs ``decode_index``: ``%`` and two hex digits (either case) is one byte, any other
    character its own UTF-8 bytes; ``None`` for a bad escape or bytes that are not UTF-8."""
    raw = encoded.encode()
    out = bytearray()
    i = 0
    while i < len(raw):
        byte = raw[i]
        if byte == 0x25:  # '%'
            pair = raw[i + 1 : i + 3]
            if len(pair) < 2 or not all(c in b"0123456789abcdefABCDEF" for c in pair):
                return None
            out.append(int(pair, 16))
            i += 3
        else:
            out.append(byte)
            i += 1
    try:
        return out.decode()
    except UnicodeDecodeError:
        return None


def index_file_name(index: str) -> str:
    """kv.rs ``index_file_name``: ``encode_index(index) + ".bin"``."""
    return encode_index(index) + INDEX_SUFFIX


def index_from_file_name(name: str) -> str | None:
    """The index a directory entry holds, as the engine's ``load_store_from_dir`` decides it, or
    ``None`` for an entry it does not load. ``name`` may carry surrogate escapes (a file name
    that is not UTF-8, as ``os.listdir`` returns it); the engine reads it lossily.

    Rust's ``Path::extension`` sees no extension in a name that starts with its only dot, so
    ``.bin`` (the file of the empty index, which the engine writes) is never loaded again."""
    lossy = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    stem, dot, extension = lossy.rpartition(".")
    if not dot or not stem or extension != INDEX_SUFFIX[1:]:
        return None
    return decode_index(stem)


# -- the rkyv archive ----------------------------------------------------------------------------


def archive_text(text: bytes) -> bytes:
    """``rkyv::to_bytes(&KeyStorage(String))`` for UTF-8 ``text``.

    Up to 8 bytes the string is inline: its bytes, then 0xff up to 8 (repr.rs
    ``emplace_inline`` fills the repr with 0xff and copies the bytes over it). Longer, the
    serializer first writes the bytes at position 0 (``str::serialize_unsized``), pads with
    zeros to a multiple of 4 (``Writer::align``), then writes the root: the length as a u32 with
    ``10`` in bits 6-7 and the rest shifted up by two (``try_emplace_out_of_line``, little
    endian), and the i32 offset from the root back to position 0."""
    length = len(text)
    if length <= _INLINE_CAPACITY:
        return text + b"\xff" * (_INLINE_CAPACITY - length)
    if length > MAX_TEXT_BYTES:
        raise EngineFormatError(
            f"index text is {length} bytes; the engine's archive holds at most {MAX_TEXT_BYTES}"
        )
    root = -length % _ROOT_ALIGN + length
    tagged = (length & 0x3F) | 0x80 | ((length & ~0x3F) << 2)
    return text + bytes(root - length) + struct.pack("<Ii", tagged, -root)


def unarchive_text(data: bytes) -> bytes:
    """The string of an archive, with the checks of ``rkyv::from_bytes`` (bytecheck) for this
    type: the root is the last 8 bytes and 4-aligned; inline, the bytes up to the first 0xff;
    out of line, a length over 8 and bytes lying before the root (rkyv's validator only lets a
    subtree point below its parent); UTF-8 either way."""
    root = len(data) - _INLINE_CAPACITY
    if root < 0:
        raise EngineFormatError(f"archive is {len(data)} bytes, shorter than its 8-byte root")
    if root % _ROOT_ALIGN:
        raise EngineFormatError(f"archive root at byte {root} is not 4-aligned")
    repr_bytes = data[root:]
    if repr_bytes[0] & 0xC0 != 0x80:
        end = repr_bytes.find(0xFF)
        text = repr_bytes[: _INLINE_CAPACITY if end < 0 else end]
    else:
        tagged, offset = struct.unpack("<Ii", repr_bytes)
        length = (tagged & 0x3F) | ((tagged & ~0xFF) >> 2)
        if length <= _INLINE_CAPACITY:
            raise EngineFormatError("archived string is out of line but its length is too short")
        start = root + offset
        if start < 0 or start + length > root:
            raise EngineFormatError("archived string points outside the bytes before its root")
        text = data[start : start + length]
    try:
        text.decode()
    except UnicodeDecodeError as exc:
        raise EngineFormatError(f"archived string is not UTF-8: {exc}") from None
    return bytes(text)


# -- the JSON text --------------------------------------------------------------------------------


def format_f64(value: float) -> str:
    """A finite float as serde_json 1.0.149 writes it (zmij 1.0.21 ``format_finite``): the
    shortest round-tripping digits (Python's ``repr`` finds the same ones); with scientific
    exponent E, plain notation for -5 <= E <= 15 (``1000000000000000.0``, ``0.00001``), else
    ``d.ddde+E`` / ``de-E`` with no leading zeros in E (``1e+16``, ``1.5e-7``)."""
    text = repr(value)
    sign = "-" if text[0] == "-" else ""
    text = text.lstrip("-")
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    if not digits:
        return sign + "0.0"
    exp10 = point - 1
    if -5 <= exp10 <= 15:
        if len(digits) - 1 <= exp10:
            return sign + digits + "0" * (exp10 + 1 - len(digits)) + ".0"
        if exp10 >= 0:
            return sign + digits[: exp10 + 1] + "." + digits[exp10 + 1 :]
        return sign + "0." + "0" * (-exp10 - 1) + digits
    head = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{head}e{'+' if exp10 >= 0 else '-'}{abs(exp10)}"


def _exact(value: Any) -> Any:
    """``value`` with every float and out-of-range integer replaced by the text serde_json
    writes for it (an integer outside i64/u64 is an f64 in the engine)."""
    kind = type(value)
    if kind is float:
        # serde_json has no NaN or infinity: ``Value::from(f64::NAN)`` is null, as msgspec writes.
        return msgspec.Raw(format_f64(value).encode() if math.isfinite(value) else b"null")
    if kind is int and not _I64_MIN <= value <= _U64_MAX:
        try:
            return msgspec.Raw(format_f64(float(value)).encode())
        except OverflowError:
            raise EngineFormatError(f"integer {value} is out of the engine's f64 range") from None
    if kind is list:
        return [_exact(item) for item in value]
    if kind is dict:
        return {key: _exact(item) for key, item in value.items()}
    return value


def nesting_depth(text: bytes) -> int:
    """How deeply arrays/objects nest in valid JSON ``text`` (0 for a scalar), counted up to
    ``MAX_JSON_DEPTH + 1``: escaped backslashes and quotes dropped, then all but brackets and
    quotes, then the strings, then innermost bracket pairs peeled off (all in C loops)."""
    skeleton = text.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    brackets = _STRING.sub(b"", skeleton)
    depth = 0
    while brackets and depth <= MAX_JSON_DEPTH:
        brackets = _INNERMOST.sub(b"", brackets)
        depth += 1
    return depth


def encode_value(value: Any) -> bytes:
    """One JSON value as serde_json writes a ``serde_json::Value`` (compact)."""
    try:
        text = _sorted_encoder.encode(value)
        if _ENCODE_SUSPECT.search(text):
            text = _sorted_encoder.encode(_exact(value))
    except (TypeError, msgspec.EncodeError, RecursionError) as exc:
        raise EngineFormatError(f"not a JSON value: {exc}") from None
    if text.count(b"[") + text.count(b"{") >= MAX_JSON_DEPTH - 1 and (
        nesting_depth(text) > MAX_JSON_DEPTH - 1
    ):
        raise EngineFormatError(
            f"value nests arrays/objects deeper than {MAX_JSON_DEPTH - 1} levels; "
            "the engine could not load its file again"
        )
    return text


def item_part(key: str, value: Any) -> bytes:
    """One ``"key":value`` member of an index's JSON text."""
    return _sorted_encoder.encode(key) + b":" + encode_value(value)


def engine_value(part: bytes, value: Any) -> Any:
    """``value`` as the engine holds it once its member ``part`` (from :func:`item_part`) is
    read back: ``value`` itself unless serde_json reads one of its numbers differently (an
    integer outside i64/u64 is an f64, written with an exponent of at least 18)."""
    if not _LARGE_EXPONENT.search(part):
        return value
    (read,) = parse_index_json(b"{" + part + b"}").values()
    return read


def join_parts(parts: Iterable[bytes]) -> bytes:
    """An index's JSON text from its members in order (a store keeps the members of the indexes
    it writes, so that rewriting an index does not re-encode every value)."""
    return b"{" + b",".join(parts) + b"}"


def index_json(items: Mapping[str, Any]) -> bytes:
    """``serde_json::to_string(&IndexMap<String, Value>)``: the items in insertion order."""
    return join_parts([item_part(key, value) for key, value in items.items()])


def _engine_int(text: str) -> int | float:
    """serde_json's reading of an integer literal: i64/u64, else f64; ``-0`` is ``-0.0``."""
    number = int(text)
    if text == "-0":
        return -0.0
    if _I64_MIN <= number <= _U64_MAX:
        return number
    return float(text)


def parse_index_json(text: bytes) -> dict[str, Any]:
    """``serde_json::from_str::<IndexMap<String, Value>>``: an object, duplicate keys keeping
    the first position and the last value, at most ``MAX_JSON_DEPTH`` levels. Floats are read
    correctly rounded (as serde_json's ``float_roundtrip``), so re-writing what we read gives
    back the same text."""
    try:
        items = _decoder.decode(text)
        if _DECODE_SUSPECT.search(text):
            items = json.loads(text, parse_int=_engine_int)
    except (msgspec.DecodeError, ValueError, RecursionError) as exc:
        raise EngineFormatError(f"index text is not JSON: {exc}") from None
    if type(items) is not dict:
        raise EngineFormatError("index text is not a JSON object")
    if (
        text.count(b"[") + text.count(b"{") > MAX_JSON_DEPTH
        and nesting_depth(text) > MAX_JSON_DEPTH
    ):
        raise EngineFormatError(f"index text nests deeper than {MAX_JSON_DEPTH} levels")
    return items


def encode_index_file(items: Mapping[str, Any]) -> bytes:
    """The bytes the engine writes for an index holding ``items``."""
    return archive_text(index_json(items))


def decode_index_file(data: bytes) -> dict[str, Any]:
    """The items of an index file, in insertion order; :class:`EngineFormatError` when the
    engine would skip the file as unreadable."""
    return parse_index_json(unarchive_text(data))
