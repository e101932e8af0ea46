"""The iii helper module ``worker_connection_manager``: its documented types, and the engine's
RBAC rules for worker connections as pure functions.

Rules: the types are generated from ``schema/worker_connection_manager.json`` and only
re-exported here (fields and defaults as the engine reads them at iii bacffa0d, iii-helpers
0.23.0 and later: ``AuthResult.namespaces``, ``namespace`` on the registration inputs; a
documented ``None`` default is absent, ``UNSET``). Beside them, the rules the engine applies
to a session on an RBAC listener: :func:`resolve_access` (may this session call that function
in that namespace?), the namespaces a session may declare, the ``expose_functions`` filters
and their config form, the registration prefix, and applying a registration hook's result.
They follow the engine's code where its docs say otherwise (each module's docstring says
where). Nothing here performs I/O.
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
from iii_core.worker_connection_manager._access import (
    INFRASTRUCTURE_FUNCTIONS,
    AccessReason,
    Decision,
    resolve_access,
    trigger_target_denial,
)
from iii_core.worker_connection_manager._filters import (
    FunctionFilter,
    InvalidFunctionFilter,
    MatchFilter,
    MetadataFilter,
    Wildcard,
    parse_expose_functions,
    parse_function_filter,
)
from iii_core.worker_connection_manager._hooks import (
    apply_function_registration_result,
    apply_trigger_registration_result,
    apply_trigger_type_registration_result,
)
from iii_core.worker_connection_manager._namespaces import (
    DEFAULT_NAMESPACE,
    blank_namespace_denial,
    declared_namespace_denial,
    effective_namespace,
    grant_matches,
    is_reserved_function_id,
)
from iii_core.worker_connection_manager._prefix import (
    add_registration_prefix,
    strip_registration_prefix,
)
from iii_core.worker_connection_manager._wildcard import wildcard_match

__all__ = [
    "DEFAULT_NAMESPACE",
    "INFRASTRUCTURE_FUNCTIONS",
    "AccessReason",
    "AuthInput",
    "AuthResult",
    "Decision",
    "FunctionFilter",
    "InvalidFunctionFilter",
    "MatchFilter",
    "MetadataFilter",
    "OnFunctionRegistrationInput",
    "OnFunctionRegistrationResult",
    "OnTriggerRegistrationInput",
    "OnTriggerRegistrationResult",
    "OnTriggerTypeRegistrationInput",
    "OnTriggerTypeRegistrationResult",
    "Wildcard",
    "add_registration_prefix",
    "apply_function_registration_result",
    "apply_trigger_registration_result",
    "apply_trigger_type_registration_result",
    "blank_namespace_denial",
    "declared_namespace_denial",
    "effective_namespace",
    "grant_matches",
    "is_reserved_function_id",
    "parse_expose_functions",
    "parse_function_filter",
    "resolve_access",
    "strip_registration_prefix",
    "trigger_target_denial",
    "wildcard_match",
]
