"""The session's ``function_registration_prefix``: added on register, stripped on dispatch.

Rules (the engine's): when the prefix is set, a function id the session registers is stored as
``{prefix}::{id}``, and so is the ``function_id`` a trigger registered by the session refers to;
the prefix is always added, even to an id that already carries it. When the engine dispatches
a call back to that session, a leading ``{prefix}::`` is stripped (an id without it is sent as
is), so the worker sees its own ids. An absent or null prefix changes nothing. The prefix is
taken as given: a prefix ending in ``::`` gives ``a::::id``. Pure, no I/O.
"""

from __future__ import annotations

from msgspec import UnsetType

__all__ = ["add_registration_prefix", "strip_registration_prefix"]


def add_registration_prefix(function_id: str, prefix: str | UnsetType | None) -> str:
    """The id the engine registers for ``function_id`` (pass ``function_registration_prefix``)."""
    if not isinstance(prefix, str):
        return function_id
    return f"{prefix}::{function_id}"


def strip_registration_prefix(function_id: str, prefix: str | UnsetType | None) -> str:
    """The id the engine sends to the worker when it dispatches a call to ``function_id``."""
    if not isinstance(prefix, str):
        return function_id
    return function_id.removeprefix(f"{prefix}::")
