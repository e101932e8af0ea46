"""The request types of the store's function ids, and which ids read or write.

Rules: every request is a generated input Struct. Nothing here performs I/O.
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

__all__ = [
    "READ_FUNCTIONS",
    "WRITE_FUNCTIONS",
    "ReadRequest",
    "Request",
    "StreamListAllInput",
    "WriteRequest",
]


WRITE_FUNCTIONS: Final = frozenset(
    {
        "stream::set",
        "stream::update",
        "stream::delete",
        "stream::send",
        "state::set",
        "state::update",
        "state::delete",
    }
)
READ_FUNCTIONS: Final = frozenset(
    {
        "stream::get",
        "stream::list",
        "stream::list_groups",
        "stream::list_all",
        "state::get",
        "state::list",
        "state::list_groups",
    }
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
