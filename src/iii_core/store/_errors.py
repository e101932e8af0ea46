"""``StoreCallError``: the one error a store call raises, carrying the engine's code and message.

Rules: pure data. The codes and message formats are the engine's (``deserialization_error``,
``function_not_found``, ``VALUE_TOO_LARGE``) and iii-core's own storage faults, named as such:
``STORE_UNAVAILABLE`` (the storage cannot be reached), ``STORE_BAD_DATA`` (stored data that is
not a value of the expected kind, written by another tool), ``STORE_CONFLICT`` (a write that
lost too many compare-and-sets in a row) and ``STORE_WRITE_FAILED`` (the durable log could not
be written); nothing here performs I/O.
"""

from __future__ import annotations

from typing import Final

from iii_core.errors import ErrorCode, IIICoreError

__all__ = [
    "DESERIALIZATION_ERROR",
    "FUNCTION_NOT_FOUND",
    "STORE_BAD_DATA",
    "STORE_CONFLICT",
    "STORE_UNAVAILABLE",
    "STORE_WRITE_FAILED",
    "VALUE_TOO_LARGE",
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
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    def __reduce__(self) -> tuple[type[StoreCallError], tuple[str, str]]:
        # Picklable (errors cross process boundaries in the bindings) with both fields intact.
        return (type(self), (self.code, self.message))
