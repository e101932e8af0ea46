"""iii-core: the iii engine's wire types, update ops and stream/state logic, side-effect free.

The public API is re-exported here; the documented helper modules live at
``iii_core.http``, ``iii_core.observability``, ``iii_core.queue``, ``iii_core.stream`` and
``iii_core.worker_connection_manager``; the engine's state function types at ``iii_core.state``.
"""

from iii_core._codec import decode, encode
from iii_core.update import (
    DOC_URL,
    MISSING,
    InvalidOps,
    InvalidUpdateJSON,
    Missing,
    UpdateOpError,
    apply_update_ops,
    apply_update_ops_json,
)

__all__ = [
    "DOC_URL",
    "MISSING",
    "InvalidOps",
    "InvalidUpdateJSON",
    "Missing",
    "UpdateOpError",
    "apply_update_ops",
    "apply_update_ops_json",
    "decode",
    "encode",
]
