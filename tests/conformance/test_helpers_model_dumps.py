"""The `model_dump` vectors of ../shared/conformance/helpers.json for the stream types: the
published pydantic models' dumps beside what our generated Structs put on the wire.

Where they differ it is deliberate, and each difference is asserted here: the engine's wire
contract wins (a float `by` is refused, an explicit null stays null, a required `value` is
never dropped)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from iii_core import decode, encode
from iii_core.stream import (
    StreamChangeEvent,
    UpdateAppend,
    UpdateDecrement,
    UpdateIncrement,
    UpdateMerge,
    UpdateRemove,
    UpdateSet,
)
from tests.conformance.vectors import helpers_vectors

VECTORS = helpers_vectors()

# id -> our equivalent of the published constructor call
SAME: dict[str, Any] = {
    "model_dump-01": UpdateAppend(path="chunks", value={"text": "hello"}),
    "model_dump-02": UpdateAppend(path=["entityId", "buffer"], value="chunk"),
    "model_dump-06": UpdateMerge(path="session-abc", value={"author": "alice"}),
    "model_dump-07": UpdateMerge(path=["sessions", "abc"], value={"ts": "chunk"}),
    "model_dump-09": UpdateMerge(path=[], value={}),
    "model_dump-11": UpdateSet(path="a", value=None),
    "model_dump-13": UpdateDecrement(path="a", by=2),
    "model_dump-14": UpdateRemove(path="a"),
}


def wire(obj: Any) -> Any:
    return json.loads(encode(obj))


@pytest.mark.parametrize("vector_id", sorted(SAME))
def test_same_wire_form_as_the_published_dump(vector_id: str) -> None:
    assert wire(SAME[vector_id]) == VECTORS[vector_id]["expected"]


def test_stream_change_event_camel_case_round_trip() -> None:
    expected = VECTORS["model_dump-21"]["expected"]
    assert wire(decode(json.dumps(expected), StreamChangeEvent)) == expected


def test_absent_path_is_omitted_and_an_explicit_null_kept() -> None:
    # model_dump-04: the published serializer drops `path` when it is None. Ours omits an
    # absent path the same way, and keeps an explicit null (the engine reads both as root).
    assert wire(UpdateAppend(value=42)) == VECTORS["model_dump-04"]["expected"]
    assert wire(UpdateAppend(path=None, value=42)) == {"type": "append", "path": None, "value": 42}


def test_a_null_value_is_never_dropped() -> None:
    # model_dump-10: exclude_none drops the required `value`, a payload the engine refuses
    # ("missing field `value`"); ours always sends it.
    assert VECTORS["model_dump-10"]["expected"] == {"type": "append"}
    assert wire(UpdateAppend(value=None)) == {"type": "append", "value": None}


def test_a_float_by_is_refused() -> None:
    # model_dump-12: the published model accepts by=1.0; the engine rejects the whole call.
    assert VECTORS["model_dump-12"]["expected"]["by"] == 1.0
    with pytest.raises(msgspec.ValidationError, match=r"\$\.by"):
        decode(json.dumps(VECTORS["model_dump-12"]["expected"]), UpdateIncrement)
