"""iii-core: the iii engine's wire types, update ops and stream/state logic, side-effect free.

The public API is re-exported here; the documented helper modules live at
``iii_core.http``, ``iii_core.observability``, ``iii_core.queue``, ``iii_core.stream`` and
``iii_core.worker_connection_manager``; the engine's state function types at ``iii_core.state``.
``iii_core.__version__`` is the installed distribution's version (its one source is
``pyproject.toml``), read on first access.
"""

from typing import Any

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


def __getattr__(name: str) -> Any:
    # Lazy, so that ``import iii_core`` does not pay for importlib.metadata.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("iii-core")
        except PackageNotFoundError:  # imported from a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
