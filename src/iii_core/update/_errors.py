"""The engine's per-op error record and the ``InvalidOps`` error for a malformed op list.

Rules: every message is the engine's Rust format string, byte for byte (the conformance vectors
check them); nothing here performs I/O or holds state.
"""

from __future__ import annotations

from typing import Final

from iii_core._generated.stream import UpdateOpError
from iii_core.errors import ErrorCode, IIICoreError

__all__ = ["DOC_URL", "InvalidOps", "op_error"]

DOC_URL: Final = "https://iii.dev/docs/workers/iii-state#error-codes"


class InvalidOps(IIICoreError, ValueError):
    """A malformed op list: the engine rejects the whole call before applying any op.

    ``op_index`` is the index of the offending op (``None`` when ``ops`` itself is not a list),
    ``field`` the offending field (``None`` when the op as a whole is wrong), and ``reason`` the
    serde-style reason; ``message`` is ``reason`` prefixed by where it happened
    (``ops[2].by: ...``). ``code`` is the engine's error code for such a call.
    """

    code = ErrorCode.DESERIALIZATION_ERROR

    def __init__(self, op_index: int | None, field: str | None, reason: str) -> None:
        self.op_index = op_index
        self.field = field
        self.reason = reason
        where = "ops" if op_index is None else f"ops[{op_index}]"
        if field is not None:
            where = f"{where}.{field}"
        super().__init__(f"{where}: {reason}")

    def __reduce__(self) -> tuple[type[InvalidOps], tuple[int | None, str | None, str]]:
        return (type(self), (self.op_index, self.field, self.reason))


def op_error(op_index: int, code: str, message: str) -> UpdateOpError:
    return UpdateOpError(op_index=op_index, code=code, message=message, doc_url=DOC_URL)
