"""``resolve_access`` against the engine's documented resolution order, case by case, and its
properties on generated sessions, filters and metadata."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings

from iii_core.worker_connection_manager import (
    INFRASTRUCTURE_FUNCTIONS,
    AuthResult,
    Decision,
    FunctionFilter,
    MatchFilter,
    MetadataFilter,
    Wildcard,
    parse_expose_functions,
    resolve_access,
)
from tests.jsonvalues import snapshot
from tests.worker_connection_manager.strategies import (
    auth_results,
    expose_lists,
    function_ids,
    metadata,
)

NO_AUTH = AuthResult()
SAMPLE = parse_expose_functions(
    ['match("api::*")', 'match("*::public")', {"metadata": {"public": True}}]
)


def decide(
    function_id: str,
    *,
    auth: AuthResult = NO_AUTH,
    expose: Any = SAMPLE,
    meta: Any = None,
) -> Decision:
    return resolve_access(auth, function_id, expose_functions=expose, function_metadata=meta)


# --- the engine's table: iii-worker-manager "Access Resolution Order" ---------------------------


def test_1_forbidden_denies_whatever_else_matches() -> None:
    auth = AuthResult(
        allowed_functions=["api::users::delete"], forbidden_functions=["api::users::delete"]
    )
    assert decide("api::users::delete", auth=auth) == Decision(False, "forbidden")
    assert (
        decide("x::public", auth=AuthResult(forbidden_functions=["x::public"])).reason
        == "forbidden"
    )
    everything = parse_expose_functions(['match("*")'])
    assert decide("test::fn", auth=auth, expose=everything).allowed  # another id stays allowed


def test_1_forbidding_an_infrastructure_function_denies_it() -> None:
    auth = AuthResult(forbidden_functions=["engine::log::info"])
    assert decide("engine::log::info", auth=auth) == Decision(False, "forbidden")


def test_2_allowed_functions_allow_beyond_expose() -> None:
    auth = AuthResult(allowed_functions=["internal::fn"])
    assert decide("internal::fn", auth=auth, expose=()) == Decision(True, "allowed_function")
    assert not decide("internal::other", auth=auth, expose=()).allowed
    # ids are exact: an allowed entry is not a pattern
    assert not decide(
        "internal::fn", auth=AuthResult(allowed_functions=["internal::*"]), expose=()
    ).allowed


@pytest.mark.parametrize("function_id", INFRASTRUCTURE_FUNCTIONS)
def test_3_infrastructure_functions_are_always_allowed(function_id: str) -> None:
    assert decide(function_id, expose=()) == Decision(True, "infrastructure")
    assert decide(function_id, expose=parse_expose_functions(['match("api::*")'])).allowed


def test_3_the_carve_out_is_exactly_the_documented_list() -> None:
    assert INFRASTRUCTURE_FUNCTIONS == (
        "engine::channels::create",
        "engine::workers::register",
        "engine::log::info",
        "engine::log::warn",
        "engine::log::error",
        "engine::log::debug",
        "engine::log::trace",
        "engine::baggage::get",
        "engine::baggage::set",
        "engine::baggage::get_all",
    )
    for other in (
        "engine::functions::list",
        "engine::log",
        "engine::channels::create2",
        "engine::foo",
    ):
        assert decide(other, expose=()).reason == "not_exposed"


@pytest.mark.parametrize(
    ("function_id", "meta", "matched"),
    [
        ("api::users::list", None, 0),
        ("api::orders::create", None, 0),
        ("billing::public", None, 1),
        ("x::y::public", None, 1),
        ("internal::fn", {"public": True}, 2),
    ],
)
def test_4_any_expose_filter_allows(function_id: str, meta: Any, matched: int) -> None:
    assert decide(function_id, meta=meta) == Decision(True, "exposed", SAMPLE[matched])


@pytest.mark.parametrize(
    ("function_id", "meta"),
    [
        ("internal::fn", None),
        ("internal::fn", {"public": False}),
        ("internal::fn", {"public": 1}),  # true is not 1
        ("internal::fn", {"public": "true"}),
        ("internal::fn", [{"public": True}]),
        ("apix::users", None),  # "api::*" is anchored: the id must start with "api::"
        ("my::public::x", None),
    ],
)
def test_5_otherwise_deny(function_id: str, meta: Any) -> None:
    assert decide(function_id, meta=meta) == Decision(False, "not_exposed")


def test_empty_expose_exposes_nothing_but_the_carve_out() -> None:
    assert decide("api::users::list", expose=()) == Decision(False, "not_exposed")
    assert decide("engine::channels::create", expose=()).allowed


def test_a_listener_without_rbac_allows_what_is_not_forbidden() -> None:
    assert decide("anything", expose=None) == Decision(True, "no_rbac")
    assert not decide(
        "anything", auth=AuthResult(forbidden_functions=["anything"]), expose=None
    ).allowed


def test_documented_wildcards() -> None:
    # iii-worker-manager "Wildcard match" examples.
    read = parse_expose_functions(['match("api::*::read")'])
    assert decide("api::users::read", expose=read).allowed
    assert decide("api::orders::read", expose=read).allowed
    assert not decide("api::users::write", expose=read).allowed
    assert decide("", expose=parse_expose_functions(['match("*")'])).allowed


def test_documented_metadata_filters() -> None:
    # "All keys in the filter must match (AND); multiple filters are OR'd."
    expose = (MetadataFilter({"tier": "free", "name": Wildcard("*public*")}), MatchFilter("api::*"))
    assert decide("f", expose=expose, meta={"tier": "free", "name": "a-public-fn"}).allowed
    assert not decide("f", expose=expose, meta={"tier": "free", "name": "private"}).allowed
    assert not decide("f", expose=expose, meta={"tier": "free"}).allowed
    assert not decide("f", expose=expose, meta={"tier": "free", "name": 42}).allowed
    assert decide("api::f", expose=expose, meta=None).allowed


# --- properties -----------------------------------------------------------------------------------


def _glob(pattern: str, value: str) -> bool:
    return re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), value, re.DOTALL) is not None


def _serde(value: Any) -> Any:
    """A value as serde_json holds it: integers beyond i64/u64 are floats."""
    if isinstance(value, dict):
        return {k: _serde(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_serde(v) for v in value]
    if type(value) is int and not -(2**63) <= value < 2**64:
        return float(value)
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(b, Wildcard):
        return isinstance(a, str) and _glob(b.pattern, a)
    encode = msgspec.json.Encoder(order="deterministic").encode
    return encode(_serde(a)) == encode(_serde(b))


def reference(auth: AuthResult, function_id: str, expose: Any, meta: Any) -> bool:
    """The resolution order, written as one expression."""
    forbidden, allowed = auth.forbidden_functions or [], auth.allowed_functions or []
    return function_id not in forbidden and (
        function_id in allowed
        or function_id in INFRASTRUCTURE_FUNCTIONS
        or expose is None
        or any(
            _glob(f.pattern, function_id)
            if isinstance(f, MatchFilter)
            else isinstance(meta, dict)
            and all(k in meta and _same(meta[k], v) for k, v in f.conditions.items())
            for f in expose
        )
    )


@given(auth_results(), function_ids, expose_lists, metadata)
@settings(max_examples=400, deadline=None)
def test_matches_the_reference_and_changes_nothing(
    auth: AuthResult, function_id: str, expose: list[FunctionFilter] | None, meta: Any
) -> None:
    before = (msgspec.json.encode(auth), snapshot(expose), snapshot(meta))
    decision = decide(function_id, auth=auth, expose=expose, meta=meta)
    assert decision.allowed == reference(auth, function_id, expose, meta)
    assert (msgspec.json.encode(auth), snapshot(expose), snapshot(meta)) == before
    assert (decision.filter is not None) == (decision.reason == "exposed")


@given(auth_results(), function_ids, expose_lists, metadata)
@settings(max_examples=200, deadline=None)
def test_forbidden_always_wins(
    auth: AuthResult, function_id: str, expose: list[FunctionFilter] | None, meta: Any
) -> None:
    forbidding = msgspec.structs.replace(
        auth, forbidden_functions=[*(auth.forbidden_functions or []), function_id]
    )
    assert decide(function_id, auth=forbidding, expose=expose, meta=meta) == Decision(
        False, "forbidden"
    )


@given(auth_results(), function_ids, function_ids, expose_lists, metadata)
@settings(max_examples=200, deadline=None)
def test_allowing_one_more_function_never_denies_anything(
    auth: AuthResult,
    function_id: str,
    extra: str,
    expose: list[FunctionFilter] | None,
    meta: Any,
) -> None:
    wider = msgspec.structs.replace(
        auth, allowed_functions=[*(auth.allowed_functions or []), extra]
    )
    if decide(function_id, auth=auth, expose=expose, meta=meta).allowed:
        assert decide(function_id, auth=wider, expose=expose, meta=meta).allowed
    if function_id == extra and extra not in (auth.forbidden_functions or []):
        assert decide(function_id, auth=wider, expose=expose, meta=meta).allowed
