"""iii-core: the iii engine's wire types, update ops and stream/state logic, side-effect free.

The public API is re-exported here; the documented helper modules live at
``iii_core.http``, ``iii_core.observability``, ``iii_core.queue``, ``iii_core.stream`` and
``iii_core.worker_connection_manager``.
"""

from iii_core._codec import decode, encode

__all__ = ["decode", "encode"]
