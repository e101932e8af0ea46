"""Hypothesis strategies for function ids, auth results, filters and metadata."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from iii_core.worker_connection_manager import (
    INFRASTRUCTURE_FUNCTIONS,
    AuthResult,
    FunctionFilter,
    MatchFilter,
    MetadataFilter,
    Wildcard,
)

segments = st.sampled_from(["api", "users", "read", "write", "public", "x", "", "é"])
built_ids = st.lists(segments, min_size=1, max_size=4).map("::".join)
function_ids = st.one_of(built_ids, st.sampled_from(INFRASTRUCTURE_FUNCTIONS), st.text(max_size=6))
patterns = st.one_of(
    st.lists(st.one_of(segments, st.just("*")), min_size=1, max_size=4).map("::".join),
    st.text(st.sampled_from("ab:*"), max_size=6),
)
metadata_values = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from([1.0, 0.0, 2**64, 2**64 + 0.0]),
    st.sampled_from(["free", "public", "mypublic", "x"]),
    st.lists(st.integers(0, 1), max_size=2), st.dictionaries(st.sampled_from("ab"), st.integers(0, 1), max_size=2),
)  # fmt: skip
metadata = st.one_of(
    st.none(),
    st.dictionaries(st.sampled_from(["public", "tier", "name"]), metadata_values, max_size=3),
    metadata_values,
)
conditions = st.dictionaries(
    st.sampled_from(["public", "tier", "name"]),
    st.one_of(metadata_values, patterns.map(Wildcard)),
    min_size=1,
    max_size=2,
)
filters: st.SearchStrategy[FunctionFilter] = st.one_of(
    patterns.map(MatchFilter), conditions.map(MetadataFilter)
)
expose_lists = st.one_of(st.none(), st.lists(filters, max_size=3))


@st.composite
def auth_results(draw: st.DrawFn) -> AuthResult:
    fields: dict[str, Any] = {}
    if draw(st.booleans()):
        fields["allowed_functions"] = draw(st.lists(function_ids, max_size=3))
    if draw(st.booleans()):
        fields["forbidden_functions"] = draw(st.lists(function_ids, max_size=3))
    if draw(st.booleans()):
        fields["function_registration_prefix"] = draw(st.one_of(st.none(), segments))
    return AuthResult(**fields)


namespaces = st.sampled_from(["default", "orders", "analytics", "", "é"])


@st.composite
def scoped_auth_results(draw: st.DrawFn) -> AuthResult:
    """Sessions with scoped grants (ids and wildcards, bare or wrapped) and the other lists."""
    base = draw(auth_results())
    grants = st.lists(
        st.one_of(function_ids, patterns, patterns.map(lambda p: f'match("{p}")')), max_size=2
    )
    return AuthResult(
        namespaces=draw(st.dictionaries(namespaces, grants, max_size=2)),
        allowed_functions=base.allowed_functions,
        forbidden_functions=base.forbidden_functions,
    )
