"""iii-core's error model: one base class, one enum of codes.

Rules:
- Every public exception of ``iii_core`` derives from :class:`IIICoreError`, and also from
  :class:`ValueError` when it reports bad input (a caller can keep catching ``ValueError``).
- Every error carries ``code`` (an :class:`ErrorCode`, which is a ``str``) and ``message`` (the
  exact text sent on the wire, when the error reaches one); ``str(error)`` is the message followed
  by the code in brackets. Wire shapes (``{"error": {"code", "message"}}``) use ``code`` and
  ``message``, never ``str(error)``.
- Codes are spelled as the engine spells them (``deserialization_error`` lower case,
  ``VALUE_TOO_LARGE`` upper case); a code is written once, here, and used by name everywhere.
- Pure data: nothing here performs I/O.

Which errors are bad input is decided by code: :data:`BAD_INPUT_CODES`. A class with a fixed code
is a ``ValueError`` exactly when its code is in that set; ``StoreCallError(code, message)``, whose
code varies, builds an ``InvalidStoreCall`` for those codes (so ``except StoreCallError`` still
catches every store error, and ``except ValueError`` catches exactly the caller's mistakes).

The hierarchy (``(V)``: also a ``ValueError``)::

    Exception
    └── IIICoreError                             .code, .message
        ├── InvalidOps (V)                       iii_core.update — a malformed op list
        ├── InvalidUpdateJSON (V)                iii_core.update — text that is not JSON
        ├── StoreCallError                       iii_core.store — a stream::*/state::* call failed
        │   ├── InvalidStoreCall (V)             iii_core.store — its code is bad input
        │   └── CorruptStoreLogError (V)         iii_core.backends — a log line that is no record
        ├── InvalidFunctionFilter (V)            iii_core.worker_connection_manager
        ├── OtelConfigError (V)                  iii_core.observability
        ├── NonStringKeyError (AttributeError, TypeError)   iii_core.observability.redact
        ├── ClientDisconnected (ConnectionError) iii_core.http
        ├── ResponseClosed (RuntimeError)        iii_core.http
        ├── UnknownConnection (LookupError)      iii_core.subscriptions
        ├── ConnectionAlreadyOpen (V)            iii_core.subscriptions
        ├── CommandError                         iii_core.cli — a command's one-line failure
        ├── MissingExtra (ModuleNotFoundError)   an optional extra is not installed
        ├── EngineFormatError (V)                iii_core.backends — not the engine's kv format
        └── CopyError                            iii-core copy — a copy that cannot finish
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = ["BAD_INPUT_CODES", "ErrorCode", "IIICoreError"]


class ErrorCode(enum.StrEnum):
    """Every error code iii-core raises or sends.

    The engine's own codes come first; then the codes iii-core adds on its own wire surfaces
    (the CLI, ``iii-core serve``, the stores); then local codes that name an exception class and
    are never sent anywhere.
    """

    # The iii engine's codes (a call's error body).
    DESERIALIZATION_ERROR = "deserialization_error"
    FUNCTION_NOT_FOUND = "function_not_found"
    VALUE_TOO_LARGE = "VALUE_TOO_LARGE"
    # iii-core's wire codes: the CLI's and the server's answers, the store bindings' faults.
    INVALID_JSON = "invalid_json"
    INVALID_OPS = "invalid_ops"
    STORE_UNAVAILABLE = "STORE_UNAVAILABLE"
    STORE_WRITE_FAILED = "STORE_WRITE_FAILED"
    STORE_BAD_DATA = "STORE_BAD_DATA"
    STORE_CONFLICT = "STORE_CONFLICT"
    STORE_LOCKED = "STORE_LOCKED"
    STORE_LOG_CORRUPT = "STORE_LOG_CORRUPT"
    STORE_OPEN_FAILED = "STORE_OPEN_FAILED"
    STORE_VALUE_REFUSED = "STORE_VALUE_REFUSED"
    BAD_REQUEST = "bad_request"
    # Local codes: never on a wire.
    CLIENT_DISCONNECTED = "client_disconnected"
    RESPONSE_CLOSED = "response_closed"
    UNKNOWN_CONNECTION = "unknown_connection"
    CONNECTION_ALREADY_OPEN = "connection_already_open"
    INVALID_FUNCTION_FILTER = "invalid_function_filter"
    INVALID_OTEL_CONFIG = "invalid_otel_config"
    NON_STRING_KEY = "non_string_key"
    COMMAND_FAILED = "command_failed"
    MISSING_EXTRA = "missing_extra"
    ENGINE_DIR_FORMAT = "engine_dir_format"
    COPY_FAILED = "copy_failed"


BAD_INPUT_CODES: Final[frozenset[str]] = frozenset(
    {
        # A call the engine refuses as given: retrying it fails the same way.
        ErrorCode.DESERIALIZATION_ERROR,
        ErrorCode.FUNCTION_NOT_FOUND,
        ErrorCode.VALUE_TOO_LARGE,
        ErrorCode.INVALID_JSON,
        ErrorCode.INVALID_OPS,
        ErrorCode.BAD_REQUEST,
        # A value the durable log cannot write back readably (not JSON, or too deep).
        ErrorCode.STORE_VALUE_REFUSED,
        # A file that is not what the caller said it is (a ValueError since earlier releases).
        ErrorCode.STORE_LOG_CORRUPT,
        ErrorCode.ENGINE_DIR_FORMAT,
        # Local misuse of an API with a wrong value.
        ErrorCode.CONNECTION_ALREADY_OPEN,
        ErrorCode.INVALID_FUNCTION_FILTER,
        ErrorCode.INVALID_OTEL_CONFIG,
    }
)
"""The codes that report bad input: an error carrying one is also a ``ValueError``.

Storage faults (``STORE_UNAVAILABLE``, ``STORE_WRITE_FAILED``, ``STORE_LOCKED``, ...) are not in
it: the same call may succeed once the storage is back. ``NON_STRING_KEY`` is not either: its
error keeps the ``TypeError`` a JSON encoder raises for such a key."""


class IIICoreError(Exception):
    """Base of every iii-core exception: ``code`` and ``message``.

    A subclass sets its class-level ``code``; one whose code varies per instance (such as
    ``StoreCallError``) assigns ``self.code`` in its constructor.
    """

    code: str = ""
    message: str

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={str(self.code)!r}, message={self.message!r})"

    def __str__(self) -> str:
        return f"{self.message} [{self.code}]" if self.message else f"[{self.code}]"
