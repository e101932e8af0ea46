"""The documented types of the iii helper module ``worker_connection_manager``.

Rules: every class here is generated from ``schema/worker_connection_manager.json``; this
module only re-exports them. Fields and defaults are those of iii-helpers 0.20.0 (no
``namespaces``/``namespace`` fields); a documented ``None`` default is represented as absent
(``UNSET``). Nothing here performs I/O.
"""

from iii_core._generated.worker_connection_manager import (
    AuthInput,
    AuthResult,
    OnFunctionRegistrationInput,
    OnFunctionRegistrationResult,
    OnTriggerRegistrationInput,
    OnTriggerRegistrationResult,
    OnTriggerTypeRegistrationInput,
    OnTriggerTypeRegistrationResult,
)

__all__ = [
    "AuthInput",
    "AuthResult",
    "OnFunctionRegistrationInput",
    "OnFunctionRegistrationResult",
    "OnTriggerRegistrationInput",
    "OnTriggerRegistrationResult",
    "OnTriggerTypeRegistrationInput",
    "OnTriggerTypeRegistrationResult",
]
