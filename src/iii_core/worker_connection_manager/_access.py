"""The engine's access decision for a call made through an RBAC listener.

Rules, in the engine's order (``is_function_allowed`` in ``rbac_config.rs`` at iii bacffa0d;
the first that applies decides), for a call (or a trigger's target) reached in ``namespace``:
1. ``function_id`` is in ``forbidden_functions``: deny, in every namespace, even for an
   infrastructure function.
2. a grant of ``namespaces[namespace]`` covers it (an id or a wildcard, see ``_namespaces``):
   allow. A grant applies in the namespace that names it and nowhere else.
3. ``namespace`` is ``default`` and ``function_id`` is in ``allowed_functions``: allow. These
   grants name no namespace, so they answer in ``default`` only.
4. ``function_id`` is one of :data:`INFRASTRUCTURE_FUNCTIONS`: allow (from any namespace).
5. the listener has no ``rbac`` block (``expose_functions=None``): allow.
6. an ``expose_functions`` filter of this namespace matches (the id, or the registered
   metadata): allow.
7. otherwise: deny.
``allowed_functions`` and ``forbidden_functions`` hold ids, compared exactly, not patterns.
Nothing is mutated. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

from msgspec import UNSET

from iii_core._generated.worker_connection_manager import AuthResult
from iii_core.worker_connection_manager._filters import FunctionFilter
from iii_core.worker_connection_manager._namespaces import DEFAULT_NAMESPACE, grant_matches

__all__ = [
    "INFRASTRUCTURE_FUNCTIONS",
    "AccessReason",
    "Decision",
    "resolve_access",
    "trigger_target_denial",
]

INFRASTRUCTURE_FUNCTIONS: Final[tuple[str, ...]] = (
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
"""The fixed carve-out every RBAC listener allows, whatever its ``expose_functions``."""

AccessReason: TypeAlias = Literal[
    "forbidden",
    "namespace_grant",
    "allowed_function",
    "infrastructure",
    "no_rbac",
    "exposed",
    "not_exposed",
]


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a call is allowed, the rule that decided it and, for ``exposed``, the filter."""

    allowed: bool
    reason: AccessReason
    filter: FunctionFilter | None = None


def resolve_access(
    auth_result: AuthResult,
    function_id: str,
    *,
    expose_functions: Sequence[FunctionFilter] | None,
    function_metadata: Any,
    namespace: str = DEFAULT_NAMESPACE,
) -> Decision:
    """Decide a call to ``function_id`` in ``namespace`` by a session authenticated with
    ``auth_result``.

    ``expose_functions`` are the listener's filters (see ``parse_expose_functions``), or None
    for a listener without an ``rbac`` block. ``function_metadata`` is the metadata the
    function was registered with in ``namespace`` (None when it has none or is not
    registered there). ``namespace`` is the call's (``default`` when it names none) or, for a
    trigger registration, the namespace its target resolves in.
    """
    forbidden = auth_result.forbidden_functions
    if forbidden is not UNSET and function_id in forbidden:
        return Decision(allowed=False, reason="forbidden")
    scoped = auth_result.namespaces
    if scoped is not UNSET:
        grants = scoped.get(namespace, ())
        if any(grant_matches(grant, function_id) for grant in grants):
            return Decision(allowed=True, reason="namespace_grant")
    allowed = auth_result.allowed_functions
    if namespace == DEFAULT_NAMESPACE and allowed is not UNSET and function_id in allowed:
        return Decision(allowed=True, reason="allowed_function")
    if function_id in INFRASTRUCTURE_FUNCTIONS:
        return Decision(allowed=True, reason="infrastructure")
    if expose_functions is None:
        return Decision(allowed=True, reason="no_rbac")
    for expose in expose_functions:
        if expose.matches(function_id, function_metadata, namespace):
            return Decision(allowed=True, reason="exposed", filter=expose)
    return Decision(allowed=False, reason="not_exposed")


def trigger_target_denial(
    auth_result: AuthResult,
    function_id: str,
    *,
    namespace: str | None,
    expose_functions: Sequence[FunctionFilter] | None,
    function_metadata: Any,
) -> str | None:
    """The engine's ``FORBIDDEN`` message when a session may not register a trigger whose
    target is ``function_id`` (after the registration prefix) in ``namespace`` (the
    registration's; None: ``default``), else None. The target is gated as a call would be."""
    target = DEFAULT_NAMESPACE if namespace is None else namespace
    decision = resolve_access(
        auth_result,
        function_id,
        namespace=target,
        expose_functions=expose_functions,
        function_metadata=function_metadata,
    )
    if decision.allowed:
        return None
    return f"function '{function_id}' not allowed in namespace '{target}'"
