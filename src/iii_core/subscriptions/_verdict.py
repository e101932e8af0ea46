"""Whether the ``stream:join`` hooks' results reject a subscription.

Rules (the engine's): a join is rejected when any hook returned ``{"unauthorized": true}`` with a
real boolean ``true`` (a :class:`StreamJoinResult` or a mapping); ``false``, a non-boolean
``unauthorized``, no result (``None``) and a failed hook (which the binding reports as ``None``)
all allow it. Every hook runs even after one rejected, so the verdict is over all their results.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from iii_core._generated.stream import StreamJoinResult

__all__ = ["join_rejected"]


def _rejects(result: Any) -> bool:
    if isinstance(result, StreamJoinResult):
        return result.unauthorized is True
    return isinstance(result, Mapping) and result.get("unauthorized") is True


def join_rejected(results: Iterable[Any]) -> bool:
    """``True`` when any join hook result is ``unauthorized: true``."""
    return any(_rejects(result) for result in results)
