"""The documented types of the iii helper module ``queue``, under their documented names.

Rules: every class here is generated from ``schema/queue.json``; this module only re-exports
them. The wire name ``messageReceiptId`` is kept; the Python attribute is
``message_receipt_id``. Nothing here performs I/O.
"""

from iii_core._generated.queue import (
    EnqueueResult,
)

__all__ = [
    "EnqueueResult",
]
