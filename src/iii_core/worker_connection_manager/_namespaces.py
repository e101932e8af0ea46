"""Namespaces of an RBAC session: the default one, scoped grants, and declaring a namespace.

Rules (the engine's ``rbac_config.rs`` / ``engine/mod.rs`` at iii bacffa0d):
- ``default`` is the namespace of everything that names none.
- A scoped grant (a value of ``AuthResult.namespaces``) covers a function id when it is that id
  or, when it holds a ``*``, a wildcard matching it. Both spellings are accepted, bare
  (``svc::*``) and wrapped (``match("svc::*")``); the wrapper is removed first, so
  ``match("svc::get")`` is the id ``svc::get``.
- A session whose ``namespaces`` is empty (absent) declares any namespace on
  ``engine::workers::register``. Otherwise the declared namespace (``default`` when absent)
  must be one of its keys; the refusal is a ``FORBIDDEN`` error whose message lists the
  permitted namespaces, sorted.
- A namespace named and left blank (empty or Rust-trimmed empty) on a registration is refused
  with ``INVALID_NAMESPACE``; an absent one means ``default``.
- A worker-registered ``engine::*`` id is reserved outside ``default``.
Inputs are never mutated. Pure, no I/O.
"""

from __future__ import annotations

from typing import Final

from msgspec import UNSET

from iii_core._generated.worker_connection_manager import AuthResult
from iii_core._rust import rust_trim
from iii_core.worker_connection_manager._wildcard import wildcard_match

__all__ = [
    "DEFAULT_NAMESPACE",
    "blank_namespace_denial",
    "declared_namespace_denial",
    "effective_namespace",
    "grant_matches",
    "is_reserved_function_id",
    "unwrap_match",
]

DEFAULT_NAMESPACE: Final = "default"


def unwrap_match(text: str) -> str | None:
    """The pattern inside ``match("...")`` / ``match('...')`` (whitespace around ignored)."""
    trimmed = rust_trim(text)
    if len(trimmed) < len('match("")'):  # shorter ones would overlap opening and closing
        return None
    if (trimmed.startswith('match("') and trimmed.endswith('")')) or (
        trimmed.startswith("match('") and trimmed.endswith("')")
    ):
        return trimmed[7:-2]
    return None


def grant_matches(grant: str, function_id: str) -> bool:
    """Whether one scoped grant covers ``function_id``."""
    raw = unwrap_match(grant)
    if raw is None:
        raw = grant
    return raw == function_id or ("*" in raw and wildcard_match(raw, function_id))


def declared_namespace_denial(auth_result: AuthResult, declared: str | None) -> str | None:
    """The engine's ``FORBIDDEN`` message when the session may not declare ``declared`` on
    ``engine::workers::register`` (None: absent, so ``default``), or None when it may."""
    namespaces = auth_result.namespaces
    if namespaces is UNSET or not namespaces:
        return None
    namespace = DEFAULT_NAMESPACE if declared is None else declared
    if namespace in namespaces:
        return None
    permitted = ", ".join(sorted(namespaces))
    return f"namespace '{namespace}' not allowed for this session (permitted: {permitted})"


def effective_namespace(namespace: str | None) -> str:
    """The namespace a message that names ``namespace`` (None: none) is handled in."""
    return DEFAULT_NAMESPACE if namespace is None else namespace


def blank_namespace_denial(field: str, namespace: str | None) -> str | None:
    """The engine's ``INVALID_NAMESPACE`` message when ``field`` (``namespace`` or
    ``trigger_namespace`` of a trigger registration) is named and blank, else None."""
    if namespace is None or rust_trim(namespace):
        return None
    return (
        f"`{field}` is empty: it was named and left blank. Give it a name, or omit it to use "
        f"`{DEFAULT_NAMESPACE}`."
    )


def is_reserved_function_id(function_id: str, namespace: str) -> bool:
    """Whether the engine refuses a worker registering ``function_id`` in ``namespace``."""
    return function_id.startswith("engine::") and namespace != DEFAULT_NAMESPACE
