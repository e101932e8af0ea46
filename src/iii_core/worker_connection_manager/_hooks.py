"""Applying a registration hook's result to the registration it was given.

Rules (the engine's, read from its registration handlers): a string field of the result
(``function_id``, ``description``, ``trigger_id``, ``trigger_type``, ``trigger_type_id``)
replaces the original; absent or null keeps it. ``metadata`` (function hook) and ``config``
(trigger hook) replace the original whenever the key is present, so an explicit null clears
them: the docs say null keeps the original, the engine does not. ``context`` is never changed.
The hook runs before the registration prefix is added: it sees, and may map, the worker's own
id; add the prefix to the result (``add_registration_prefix``). A hook that raises or returns
no object denies the registration; that is the caller's to decide. Inputs are never mutated.
Pure, no I/O.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec
from msgspec import UNSET

from iii_core._generated.worker_connection_manager import (
    OnFunctionRegistrationInput,
    OnFunctionRegistrationResult,
    OnTriggerRegistrationInput,
    OnTriggerRegistrationResult,
    OnTriggerTypeRegistrationInput,
    OnTriggerTypeRegistrationResult,
)

__all__ = [
    "apply_function_registration_result",
    "apply_trigger_registration_result",
    "apply_trigger_type_registration_result",
]


T = TypeVar("T")


def _text(mapped: str | msgspec.UnsetType | None, original: T) -> str | T:
    return mapped if isinstance(mapped, str) else original


def apply_function_registration_result(
    registration: OnFunctionRegistrationInput, result: OnFunctionRegistrationResult
) -> OnFunctionRegistrationInput:
    """The function registration as the engine makes it after the hook returned ``result``."""
    return msgspec.structs.replace(
        registration,
        function_id=_text(result.function_id, registration.function_id),
        description=_text(result.description, registration.description),
        metadata=registration.metadata if result.metadata is UNSET else result.metadata,
    )


def apply_trigger_registration_result(
    registration: OnTriggerRegistrationInput, result: OnTriggerRegistrationResult
) -> OnTriggerRegistrationInput:
    """The trigger registration as the engine makes it after the hook returned ``result``."""
    return msgspec.structs.replace(
        registration,
        trigger_id=_text(result.trigger_id, registration.trigger_id),
        trigger_type=_text(result.trigger_type, registration.trigger_type),
        function_id=_text(result.function_id, registration.function_id),
        config=registration.config if result.config is UNSET else result.config,
    )


def apply_trigger_type_registration_result(
    registration: OnTriggerTypeRegistrationInput, result: OnTriggerTypeRegistrationResult
) -> OnTriggerTypeRegistrationInput:
    """The trigger type registration as the engine makes it after the hook returned ``result``."""
    return msgspec.structs.replace(
        registration,
        trigger_type_id=_text(result.trigger_type_id, registration.trigger_type_id),
        description=_text(result.description, registration.description),
    )
