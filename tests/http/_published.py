"""Comparing a generated type's JSON form with the published iii-helpers 0.20.0 model.

The same JSON input goes through ``iii_core.decode`` + ``encode`` and through pydantic's
``validate_python`` + ``dump_python(mode="json")``; they must agree, except where a documented
deliberate difference applies. The ones every type shares are handled here:

- **strict JSON types**: pydantic's lax mode coerces ``"200"``, ``200.0`` or ``true`` into an
  ``int`` (and the like); the engine's serde and iii-core do not. An input that pydantic only
  accepts in lax mode (its strict mode refuses it) must be refused by iii-core.
- **absent stays absent**: a field absent from the input, whose published default is None, is
  dumped as ``null`` by pydantic and omitted by iii-core.

Type-specific differences are passed in as ``published_input`` (the input pydantic is given
instead) and ``published_output`` (its dump rewritten into iii-core's documented form).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from iii_core import decode, encode
from tests.jsonvalues import same_json

REFUSED = "refused"

text = st.text(st.characters(codec="utf-8"), max_size=6)  # no lone surrogates
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
    # values pydantic's lax mode coerces
    st.integers(-1000, 1000).map(str),
    st.integers(-1000, 1000).map(float),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(text, children, max_size=3)
    ),
    max_leaves=6,
)
string_maps = st.dictionaries(text, text, max_size=3)
string_lists = st.lists(text, max_size=3)
objects = st.dictionaries(text, json_values, max_size=3)
_ABSENT = object()


def near(fields: Mapping[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects shaped like a type: each field absent, valid or any JSON value, plus extras."""

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        value: dict[str, Any] = {}
        for name, valid in fields.items():
            chosen = draw(st.one_of(st.just(_ABSENT), valid, valid, valid, json_values))
            if chosen is not _ABSENT:
                value[name] = chosen
        extras = draw(st.dictionaries(text.filter(lambda k: k not in fields), json_values))
        return {**extras, **value}

    return build()


def ours(cls: Any, data: Any) -> Any:
    try:
        return json.loads(encode(decode(json.dumps(data), cls)))
    except msgspec.ValidationError:
        return REFUSED


def _published(adapter: TypeAdapter[Any], data: Any, *, strict: bool) -> Any:
    try:
        if strict:
            value = adapter.validate_json(json.dumps(data), strict=True)
        else:
            value = adapter.validate_python(data)
    except ValidationError:
        return REFUSED
    return adapter.dump_python(value, mode="json")


@functools.cache
def _adapter(published: Any) -> TypeAdapter[Any]:
    return TypeAdapter(published)


def drop_absent_nones(dump: Any, data: Any, fields: tuple[str, ...]) -> Any:
    """Absent stays absent: remove each of ``fields`` that the input did not have."""
    if not isinstance(dump, dict) or not isinstance(data, dict):
        return dump
    return {k: v for k, v in dump.items() if k in data or k not in fields}


def assert_same_json_form(
    cls: Any,
    published: Any,
    data: Any,
    *,
    none_defaults: tuple[str, ...] = (),
    published_input: Callable[[Any], Any] = lambda data: data,
    published_output: Callable[[Any, Any], Any] = lambda dump, data: dump,
) -> None:
    """``data`` through iii-core and through the published model give the same JSON."""
    adapter = _adapter(published)
    mine = ours(cls, data)
    given = published_input(data)
    lax = _published(adapter, given, strict=False)
    if lax is not REFUSED and _published(adapter, given, strict=True) is REFUSED:
        assert mine == REFUSED, (data, mine, lax)  # strict JSON types
        return
    expected = lax
    if lax is not REFUSED:
        expected = published_output(drop_absent_nones(lax, data, none_defaults), data)
    assert same_json(mine, expected), (data, mine, expected)
