"""The ``match("...")`` wildcard, metadata conditions, and reading ``expose_functions`` as the
engine reads its config (the engine's own test cases, then generated inputs)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iii_core.worker_connection_manager import (
    InvalidFunctionFilter,
    MatchFilter,
    MetadataFilter,
    Wildcard,
    parse_expose_functions,
    parse_function_filter,
    wildcard_match,
)
from iii_core.worker_connection_manager._json_equal import json_equal
from tests.jsonvalues import same_json, snapshot
from tests.worker_connection_manager.strategies import metadata_values, patterns


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        # engine/src/workers/worker/rbac_config.rs tests
        ("hello::world", "hello::world", True),
        ("hello::world", "hello::worl", False),
        ("hello::world", "hello::worldx", False),
        ("engine::*", "engine::foo", True),
        ("engine::*", "engine::bar::baz", True),
        ("engine::*", "other::foo", False),
        ("*::public", "api::public", True),
        ("*::public", "x::y::public", True),
        ("*::public", "api::private", False),
        ("*public*", "public", True),
        ("*public*", "mypublicfn", True),
        ("*public*", "public_api", True),
        ("*public*", "private", False),
        ("*", "anything", True),
        ("*", "", True),
        ("api::*::read", "api::users::read", True),
        ("api::*::read", "api::orders::read", True),
        ("api::*::read", "api::users::write", False),
        # beyond them
        ("a*a", "a", False),
        ("a*a", "aa", True),
        ("ab*ba", "aba", False),
        ("a?c", "abc", False),  # only * is special
        ("[a]", "a", False),
        ("", "", True),
        ("", "x", False),
        ("**", "", True),
        ("é*", "éx", True),
    ],
)
def test_wildcard(pattern: str, value: str, matches: bool) -> None:
    assert wildcard_match(pattern, value) is matches


@given(patterns, st.text(st.sampled_from("ab:*"), max_size=8))
@settings(max_examples=500, deadline=None)
def test_wildcard_is_an_anchored_glob(pattern: str, value: str) -> None:
    glob = ".*".join(map(re.escape, pattern.split("*")))
    assert wildcard_match(pattern, value) is (re.fullmatch(glob, value, re.DOTALL) is not None)


@pytest.mark.parametrize(
    ("condition", "value", "matches"),
    [
        (True, True, True),
        (True, False, False),
        (Wildcard("*public*"), "mypublic", True),
        (Wildcard("*public*"), "private", False),
        (Wildcard("*public*"), 42, False),  # a wildcard never matches a non-string
        (1, 1, True),
        (1, 1.0, False),
        (1, True, False),
        (0, False, False),
        ("1", 1, False),
        (None, None, True),
        ({"a": [1, {"b": 2}]}, {"a": [1, {"b": 2}]}, True),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}, True),
        ([1, 2], [2, 1], False),
        (2**64, float(2**64), True),  # serde_json reads an integer beyond u64 as a float
        (2**64 - 1, float(2**64 - 1), False),
        (-0.0, 0.0, True),
    ],
)
def test_metadata_condition(condition: Any, value: Any, matches: bool) -> None:
    assert MetadataFilter({"k": condition}).matches("f", {"k": value}) is matches


def test_metadata_filter_needs_an_object_with_every_key() -> None:
    both = MetadataFilter({"a": 1, "b": 2})
    assert both.matches("f", {"a": 1, "b": 2, "c": 3})
    assert not both.matches("f", {"a": 1})
    assert not both.matches("f", None)
    assert not both.matches("f", [{"a": 1, "b": 2}])
    assert not MetadataFilter({"a": None}).matches("f", {})  # absent is not null


def test_json_equal_walks_deep_values_without_recursion() -> None:
    deep: Any = 1
    for _ in range(100_000):
        deep = [deep]
    other: Any = 1
    for _ in range(100_000):
        other = [other]
    assert json_equal(deep, other)


@given(metadata_values, metadata_values)
@settings(max_examples=300, deadline=None)
def test_json_equal_is_kind_strict_equality(a: Any, b: Any) -> None:
    def serde(v: Any) -> Any:
        return float(v) if type(v) is int and not -(2**63) <= v < 2**64 else v

    before = (snapshot(a), snapshot(b))
    if isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
        assert json_equal(a, b) is same_json(a, b)
    else:
        assert json_equal(a, b) is same_json(serde(a), serde(b))
    assert json_equal(a, a)
    assert (snapshot(a), snapshot(b)) == before


# --- reading the config ---------------------------------------------------------------------


def test_engine_parse_cases() -> None:
    assert parse_function_filter('match("engine::*")') == MatchFilter("engine::*")
    assert parse_function_filter("match('engine::*')") == MatchFilter("engine::*")
    for invalid in ("engine::*", "match(engine::*)"):
        with pytest.raises(
            InvalidFunctionFilter, match=re.escape('expected match("pattern"), got: ')
        ):
            parse_function_filter(invalid)


def test_the_documented_config() -> None:
    # iii-worker-manager "Sample Configuration" and "Metadata match".
    filters = parse_expose_functions(
        [
            'match("api::*")',
            'match("*::public")',
            {"metadata": {"public": True}},
            {"metadata": {"tier": "free", "name": 'match("*public*")'}},
        ]
    )
    assert filters == (
        MatchFilter("api::*"),
        MatchFilter("*::public"),
        MetadataFilter({"public": True}),
        MetadataFilter({"tier": "free", "name": Wildcard("*public*")}),
    )


def test_whitespace_is_trimmed_as_rust_trims() -> None:
    assert parse_function_filter(' \t match("a") \u3000') == MatchFilter("a")
    assert parse_function_filter('match(" a ")') == MatchFilter(" a ")
    with pytest.raises(InvalidFunctionFilter):  # U+001F is not White_Space for Rust
        parse_function_filter('\x1fmatch("a")')
    assert parse_function_filter({"metadata": {"k": ' match("x*") '}}) == MetadataFilter(
        {"k": Wildcard("x*")}
    )
    assert parse_function_filter({"metadata": {"k": 'match("x*'}}) == MetadataFilter(
        {"k": 'match("x*'}  # not a wildcard: an exact string
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        # engine/src/workers/worker/rbac_config.rs at bacffa0d: the map form's errors
        ({}, "expected a 'match' or 'metadata' key with filter conditions"),
        ({"metadata": {}}, "expected a 'match' or 'metadata' key with filter conditions"),
        ({"namespace": "orders"}, "expected a 'match' or 'metadata' key with filter conditions"),
        (
            {"other": 1},
            "unknown key 'other' in expose_functions filter; expected 'match', 'metadata', or 'namespace'",
        ),
        (
            {"match": "a", "namesapce": "orders"},
            "unknown key 'namesapce' in expose_functions filter",
        ),
        (
            {"match": "a", "metadata": {"k": 1}},
            "a filter has either a 'match' or a 'metadata' key, not both",
        ),
        ({"match": 1}, "invalid type: number, expected a string"),
        ({"match": "a", "namespace": None}, "invalid type: null, expected a string"),
        ({"metadata": [1]}, "invalid type: array, expected a map of metadata conditions"),
        ({"metadata": {1: True}}, "metadata keys must be strings, got: 1"),
        (
            5,
            "invalid type: number, expected a match(\"pattern\") string or a map with 'metadata' key",
        ),
        (None, "invalid type: null, expected"),
        ('match(")', 'expected match("pattern"), got: match(")'),  # the engine would panic
        ("match('x\")", "expected match"),
    ],
)
def test_invalid_entries(raw: Any, message: str) -> None:
    with pytest.raises(InvalidFunctionFilter, match=re.escape(message)):
        parse_function_filter(raw)


def test_map_forms_carry_their_namespace() -> None:
    assert parse_function_filter({"metadata": {"a": 1}, "namespace": "x"}) == MetadataFilter(
        {"a": 1}, "x"
    )
    # the map form's pattern is bare: no match(...) wrapper is removed
    assert parse_function_filter({"match": "svc::*"}) == MatchFilter("svc::*")
    assert parse_function_filter({"match": 'match("a")', "namespace": "o"}) == MatchFilter(
        'match("a")', "o"
    )
    # an empty metadata map beside a pattern is no condition: the engine keeps the pattern
    assert parse_function_filter({"match": "a", "metadata": {}}) == MatchFilter("a")


@pytest.mark.parametrize(
    ("flt", "namespace", "matches"),
    [
        # rbac_config.rs tests: a rule without a namespace is scoped to `default`
        (MatchFilter("svc::*"), "default", True),
        (MatchFilter("svc::*"), "orders", False),
        (MatchFilter("svc::*", "orders"), "orders", True),
        (MatchFilter("svc::*", "orders"), "default", False),
        (MatchFilter("svc::*", "orders"), "analytics", False),
        (MetadataFilter({"public": True}, "team"), "team", True),
        (MetadataFilter({"public": True}, "team"), "default", False),
        (MetadataFilter({"public": True}), "default", True),
    ],
)
def test_filters_match_in_their_namespace_only(
    flt: MatchFilter | MetadataFilter, namespace: str, matches: bool
) -> None:
    assert flt.matches("svc::get", {"public": True}, namespace) is matches


def test_namespaced_metadata_filter_from_config() -> None:
    # function_filter_round_trips_through_serde, read from its serialized form
    flt = parse_function_filter(
        {"metadata": {"public": True, "scope": 'match("team-*")'}, "namespace": "team"}
    )
    meta = {"public": True, "scope": "team-alpha"}
    assert flt.matches("svc::get", meta, "team")
    assert not flt.matches("svc::get", {"public": False, "scope": "team-alpha"}, "team")
    assert not flt.matches("svc::get", meta, "default")


def test_lists() -> None:
    assert parse_expose_functions([]) == ()
    with pytest.raises(InvalidFunctionFilter, match=r"^expose_functions\[1\]: expected match"):
        parse_expose_functions(['match("a")', "a"])
    with pytest.raises(InvalidFunctionFilter, match="expected a sequence"):
        parse_expose_functions(None)


@given(
    st.lists(
        st.one_of(patterns.map(lambda p: f'match("{p}")'), patterns.map(lambda p: f"match('{p}')"))
    )
)
@settings(max_examples=100, deadline=None)
def test_match_strings_round_trip(raw: list[str]) -> None:
    before = list(raw)
    filters = parse_expose_functions(raw)
    assert raw == before
    assert [f'match("{f.pattern}")' for f in filters if isinstance(f, MatchFilter)] == [
        f'match("{r[7:-2]}")' for r in raw
    ]


filter_maps = st.dictionaries(
    st.sampled_from(["match", "metadata", "namespace", "other"]),
    st.one_of(
        st.sampled_from(["api::*", "orders", "", 'match("x*")']),
        st.dictionaries(st.sampled_from(["public", "tier"]), st.one_of(st.booleans(), st.just('match("f*")')), max_size=2),
        st.integers(0, 1),
        st.none(),
    ),
    max_size=3,
)  # fmt: skip


@given(filter_maps)
@settings(max_examples=400, deadline=None)
def test_map_form_equals_a_reference_model(raw: dict[str, Any]) -> None:
    """The engine's visitor: unknown keys refuse; ``match`` and ``namespace`` are strings;
    ``metadata`` a map; exactly one of a pattern and (non-empty) conditions."""
    before = snapshot(raw)
    try:
        parsed: Any = parse_function_filter(raw)
    except InvalidFunctionFilter:
        parsed = None
    assert snapshot(raw) == before

    def expected() -> Any:
        if any(key not in ("match", "metadata", "namespace") for key in raw):
            return None
        if any(type(raw[k]) is not str for k in ("match", "namespace") if k in raw):
            return None
        if "metadata" in raw and type(raw["metadata"]) is not dict:
            return None
        conditions = {
            k: Wildcard(v[7:-2]) if isinstance(v, str) and v.startswith('match("') else v
            for k, v in raw.get("metadata", {}).items()
        }
        if ("match" in raw) == bool(conditions):
            return None
        if "match" in raw:
            return MatchFilter(raw["match"], raw.get("namespace"))
        return MetadataFilter(conditions, raw.get("namespace"))

    assert parsed == expected()
