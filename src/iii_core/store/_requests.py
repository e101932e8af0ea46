"""The request types of the store's function ids, and which ids read or write.

Rules: every request is a generated input Struct; which ids read and which write is the
function table's (:mod:`iii_core.store._functions`). Nothing here performs I/O.
"""

from __future__ import annotations

from typing import Final, TypeAlias

from iii_core._generated.state import (
    StateDeleteInput,
    StateGetInput,
    StateListGroupsInput,
    StateListInput,
    StateSetInput,
    StateUpdateInput,
)
from iii_core._generated.stream import (
    StreamDeleteInput,
    StreamGetInput,
    StreamListAllInput,
    StreamListGroupsInput,
    StreamListInput,
    StreamSendInput,
    StreamSetInput,
    StreamUpdateInput,
)
from iii_core.store._functions import FUNCTIONS

__all__ = [
    "READ_FUNCTIONS",
    "WRITE_FUNCTIONS",
    "ReadRequest",
    "Request",
    "StreamListAllInput",
    "WriteRequest",
]


WRITE_FUNCTIONS: Final = frozenset(
    function_id for function_id, function in FUNCTIONS.items() if function.access == "write"
)
READ_FUNCTIONS: Final = frozenset(
    function_id for function_id, function in FUNCTIONS.items() if function.access == "read"
)

WriteRequest: TypeAlias = (
    StreamSetInput
    | StreamUpdateInput
    | StreamDeleteInput
    | StreamSendInput
    | StateSetInput
    | StateUpdateInput
    | StateDeleteInput
)
ReadRequest: TypeAlias = (
    StreamGetInput
    | StreamListInput
    | StreamListGroupsInput
    | StreamListAllInput
    | StateGetInput
    | StateListInput
    | StateListGroupsInput
)
Request: TypeAlias = WriteRequest | ReadRequest
