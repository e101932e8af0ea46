"""The names of an iii app's engine directory, and the ``--engine-dir`` option's help.

Rules: constants only, importing nothing of ``iii_core``: the command lines describe the option
without importing the stores (so ``iii-core apply`` starts without asyncio and the backends).
``iii_core.backends.engine_dir`` re-exports them.
"""

from __future__ import annotations

import os
from typing import Final

__all__ = ["ENGINE_DIR_HELP", "STATE_SUBDIR", "STREAM_SUBDIR"]

STREAM_SUBDIR: Final = "stream_store"
STATE_SUBDIR: Final = "state_store.db"
ENGINE_DIR_HELP: Final = (
    "open an iii app's own data: DIR holds the engine's file-based kv directories "
    f"{STREAM_SUBDIR}/ and {STATE_SUBDIR}/ (or give STREAMS_DIR{os.pathsep}STATE_DIR); do not run "
    "the engine on it at the same time"
)
"""The ``--engine-dir`` option's help, for every command that opens a store (``call``,
``serve``)."""
