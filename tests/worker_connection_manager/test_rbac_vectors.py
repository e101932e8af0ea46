"""The engine's own RBAC tests (iii bacffa0d, ``rbac_config.rs`` and the namespace check of
``engine::workers::register`` in ``engine/mod.rs``), translated into ``rbac_vectors.json``, and
the namespace rules' properties on generated sessions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iii_core import decode
from iii_core.worker_connection_manager import (
    DEFAULT_NAMESPACE,
    AuthResult,
    blank_namespace_denial,
    declared_namespace_denial,
    effective_namespace,
    grant_matches,
    is_reserved_function_id,
    parse_expose_functions,
    resolve_access,
    trigger_target_denial,
    wildcard_match,
)
from tests.jsonvalues import snapshot
from tests.worker_connection_manager.strategies import (
    auth_results,
    expose_lists,
    function_ids,
    metadata,
    namespaces,
    patterns,
    scoped_auth_results,
)

VECTORS = json.loads((Path(__file__).parent / "rbac_vectors.json").read_text())


@pytest.mark.parametrize("case", VECTORS["access"], ids=lambda case: case["name"])
def test_access_vector(case: dict[str, Any]) -> None:
    auth = decode(json.dumps(case["auth_result"]), AuthResult)
    expose = case["expose_functions"]
    decision = resolve_access(
        auth,
        case["function_id"],
        namespace=case["namespace"],
        expose_functions=None if expose is None else parse_expose_functions(expose),
        function_metadata=case["function_metadata"],
    )
    assert decision.allowed is case["allowed"], decision


@pytest.mark.parametrize("case", VECTORS["declare"], ids=lambda case: case["name"])
def test_declared_namespace_vector(case: dict[str, Any]) -> None:
    auth = AuthResult(namespaces=case["namespaces"])
    assert declared_namespace_denial(auth, case["declared"]) == case["error"]


def test_vectors_cover_every_engine_test() -> None:
    sources = {case["source"].rpartition("::")[2] for case in VECTORS["access"]}
    assert len(sources) == 22
    assert {case["allowed"] for case in VECTORS["access"]} == {True, False}


def test_reasons_of_the_namespace_rules() -> None:
    scoped = AuthResult(namespaces={"orders": ["svc::*"]}, allowed_functions=["svc::get"])
    deny_all = parse_expose_functions(['match("nothing")'])
    reasons = {
        ns: resolve_access(
            scoped, "svc::get", namespace=ns, expose_functions=deny_all, function_metadata=None
        ).reason
        for ns in ("orders", "default", "analytics")
    }
    assert reasons == {
        "orders": "namespace_grant",
        "default": "allowed_function",
        "analytics": "not_exposed",
    }


@pytest.mark.parametrize(
    ("grant", "function_id", "covers"),
    [
        ("svc::get", "svc::get", True),
        ('match("svc::get")', "svc::get", True),
        ("match('svc::*')", "svc::x", True),
        (' match("svc::*") ', "svc::x", True),  # unwrapped as the engine trims
        ("svc::*", "svc::", True),
        ("svc::get", "svc::ge", False),
        ('match("svc::get")', 'match("svc::get")', False),
        ("*", "", True),
        ("", "", True),
        ('match(")', 'match(")', True),  # too short to unwrap: compared as written
    ],
)
def test_grant_matches(grant: str, function_id: str, covers: bool) -> None:
    assert grant_matches(grant, function_id) is covers


@given(patterns, function_ids)
@settings(max_examples=300, deadline=None)
def test_a_grant_is_the_id_or_its_wildcard(grant: str, function_id: str) -> None:
    expected = grant == function_id or ("*" in grant and wildcard_match(grant, function_id))
    assert grant_matches(grant, function_id) is expected
    assert grant_matches(f'match("{grant}")', function_id) is (
        expected if grant else grant_matches('match("")', function_id)
    )


@given(
    st.one_of(auth_results(), scoped_auth_results()),
    function_ids,
    expose_lists,
    metadata,
    namespaces,
)
@settings(max_examples=400, deadline=None)
def test_namespace_rules(
    auth: AuthResult, function_id: str, expose: Any, meta: Any, namespace: str
) -> None:
    before = snapshot((auth, expose, meta))
    decision = resolve_access(
        auth, function_id, namespace=namespace, expose_functions=expose, function_metadata=meta
    )
    assert snapshot((auth, expose, meta)) == before
    assert isinstance(auth.forbidden_functions, list)
    assert isinstance(auth.namespaces, dict)
    if function_id in auth.forbidden_functions:
        assert decision.reason == "forbidden"  # global: every namespace
        return
    # without scoped grants and in `default`, the pre-namespace order decides
    if namespace == DEFAULT_NAMESPACE and not auth.namespaces:
        legacy = resolve_access(auth, function_id, expose_functions=expose, function_metadata=meta)
        assert decision == legacy
    # allowed_functions never answer outside `default`
    if namespace != DEFAULT_NAMESPACE:
        assert decision.reason != "allowed_function"
    # a grant of another namespace changes nothing here
    other = dict(auth.namespaces)
    other[namespace + "-other"] = [function_id, "*"]
    widened = resolve_access(
        AuthResult(
            namespaces=other,
            allowed_functions=auth.allowed_functions,
            forbidden_functions=auth.forbidden_functions,
        ),
        function_id,
        namespace=namespace,
        expose_functions=expose,
        function_metadata=meta,
    )
    assert widened == decision


@given(
    st.dictionaries(namespaces, st.lists(function_ids, max_size=2), max_size=3),
    st.one_of(st.none(), namespaces),
)
@settings(max_examples=200, deadline=None)
def test_declaring_a_namespace(scoped: dict[str, list[str]], declared: str | None) -> None:
    denial = declared_namespace_denial(AuthResult(namespaces=scoped), declared)
    effective = DEFAULT_NAMESPACE if declared is None else declared
    assert (denial is None) is (not scoped or effective in scoped)
    if denial is not None:
        assert denial.startswith(f"namespace '{effective}' not allowed for this session")


def test_engine_ids_are_reserved_outside_default() -> None:
    assert is_reserved_function_id("engine::mine", "orders")
    assert not is_reserved_function_id("engine::mine", DEFAULT_NAMESPACE)
    assert not is_reserved_function_id("svc::engine::x", "orders")


def test_trigger_target_is_gated_in_its_namespace() -> None:
    """engine/mod.rs RegisterTrigger: the target (after the prefix) is checked as a call in the
    registration's namespace, ``default`` when it names none."""
    auth = AuthResult(namespaces={"orders": ["svc::*"]}, allowed_functions=["svc::get"])
    expose = parse_expose_functions(['match("api::*")'])

    def denial(function_id: str, namespace: str | None) -> str | None:
        return trigger_target_denial(
            auth, function_id, namespace=namespace, expose_functions=expose, function_metadata=None
        )

    assert denial("svc::x", "orders") is None
    assert denial("svc::get", None) is None
    assert denial("api::a", None) is None
    assert denial("svc::x", None) == "function 'svc::x' not allowed in namespace 'default'"
    assert denial("api::a", "orders") == "function 'api::a' not allowed in namespace 'orders'"


@given(st.one_of(auth_results(), scoped_auth_results()), function_ids, expose_lists, namespaces)
@settings(max_examples=200, deadline=None)
def test_trigger_target_denial_is_resolve_access(
    auth: AuthResult, function_id: str, expose: Any, namespace: str
) -> None:
    allowed = resolve_access(
        auth, function_id, namespace=namespace, expose_functions=expose, function_metadata=None
    ).allowed
    denial = trigger_target_denial(
        auth, function_id, namespace=namespace, expose_functions=expose, function_metadata=None
    )
    assert (denial is None) is allowed


@pytest.mark.parametrize(
    ("namespace", "denied"),
    [
        (None, False),
        ("orders", False),
        ("", True),
        (" \t", True),
        ("\u3000", True),
        ("\x1f", False),
    ],
)
def test_blank_namespaces_are_refused(namespace: str | None, denied: bool) -> None:
    message = blank_namespace_denial("trigger_namespace", namespace)
    assert (message is not None) is denied
    if denied:
        assert message == (
            "`trigger_namespace` is empty: it was named and left blank. Give it a name, or omit "
            "it to use `default`."
        )
    assert effective_namespace(namespace) == ("default" if namespace is None else namespace)
