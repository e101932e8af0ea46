"""The OpenTelemetry pipeline that ``init_otel`` started and ``shutdown_otel`` has not stopped.

Rules: at most one per process. Only ``_pipeline`` replaces it (under its lock); readers take one
snapshot with ``running()`` and keep using that snapshot, so a concurrent shutdown never leaves
them half-way. Nothing here imports OpenTelemetry: ``Logger`` reads the slot without the extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iii_core.observability._pipeline import Pipeline

__all__ = ["replace_running", "running"]


class _Slot:
    __slots__ = ("pipeline",)

    def __init__(self) -> None:
        self.pipeline: Pipeline | None = None


_SLOT = _Slot()


def running() -> Pipeline | None:
    """The running pipeline, or None before ``init_otel`` and after ``shutdown_otel``."""
    return _SLOT.pipeline


def replace_running(pipeline: Pipeline | None) -> None:
    """Make ``pipeline`` the running one (``_pipeline`` only)."""
    _SLOT.pipeline = pipeline
