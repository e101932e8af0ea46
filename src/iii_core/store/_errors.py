"""``StoreCallError``: the one error a store call raises, carrying the engine's code and message.

Rules: pure data. The codes and message formats are the engine's (``deserialization_error``,
``function_not_found``, ``VALUE_TOO_LARGE``) and iii-core's own storage faults, named as such:
``STORE_UNAVAILABLE`` (the storage cannot be reached), ``STORE_BAD_DATA`` (stored data that is
not a value of the expected kind, written by another tool), ``STORE_CONFLICT`` (a write that
lost too many compare-and-sets in a row) and ``STORE_WRITE_FAILED`` (the durable log could not
be written); nothing here performs I/O.

Which of them are bad input is one rule, the code: ``StoreCallError(code, message)`` builds an
:class:`InvalidStoreCall` (also a ``ValueError``) when ``code`` is in
:data:`iii_core.errors.BAD_INPUT_CODES`, a plain ``StoreCallError`` otherwise. Raise sites never
choose the class.
"""

from __future__ import annotations

from typing import Final

from iii_core.errors import BAD_INPUT_CODES, ErrorCode, IIICoreError

__all__ = [
    "DESERIALIZATION_ERROR",
    "FUNCTION_NOT_FOUND",
    "STORE_BAD_DATA",
    "STORE_CONFLICT",
    "STORE_UNAVAILABLE",
    "STORE_WRITE_FAILED",
    "VALUE_TOO_LARGE",
    "InvalidStoreCall",
    "StoreCallError",
]

DESERIALIZATION_ERROR: Final = ErrorCode.DESERIALIZATION_ERROR
FUNCTION_NOT_FOUND: Final = ErrorCode.FUNCTION_NOT_FOUND
VALUE_TOO_LARGE: Final = ErrorCode.VALUE_TOO_LARGE
STORE_UNAVAILABLE: Final = ErrorCode.STORE_UNAVAILABLE
STORE_BAD_DATA: Final = ErrorCode.STORE_BAD_DATA
STORE_CONFLICT: Final = ErrorCode.STORE_CONFLICT
STORE_WRITE_FAILED: Final = ErrorCode.STORE_WRITE_FAILED


class StoreCallError(IIICoreError):
    """A ``stream::*`` / ``state::*`` call the engine would answer with an error body.

    ``code`` is the engine's error code and ``message`` its exact message; ``str(error)`` is the
    message followed by the code. A call that raises this changed nothing and emitted no event.
    An error whose code is bad input is an :class:`InvalidStoreCall` (see the module docstring).
    """

    def __new__(cls, code: str, message: str) -> StoreCallError:
        # Subclasses with a code of their own (CorruptStoreLogError) keep their class.
        chosen = InvalidStoreCall if cls is StoreCallError and code in BAD_INPUT_CODES else cls
        error: StoreCallError = super().__new__(chosen, code, message)
        return error

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    def __reduce__(self) -> tuple[type[StoreCallError], tuple[str, str]]:
        # Picklable (errors cross process boundaries in the bindings) with both fields intact.
        return (type(self), (self.code, self.message))


class InvalidStoreCall(StoreCallError, ValueError):
    """A store call refused for its input (a code in ``BAD_INPUT_CODES``: a malformed payload,
    an unknown function, a value over ``max_value_bytes``): retrying it fails the same way.

    Built by ``StoreCallError(code, message)``; building it with a storage fault's code is a
    ``ValueError``, so the class always agrees with the code.
    """

    def __init__(self, code: str, message: str) -> None:
        if code not in BAD_INPUT_CODES:
            raise ValueError(f"{code!r} is not a bad-input code: raise StoreCallError")
        super().__init__(code, message)
