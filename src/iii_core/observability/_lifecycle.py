"""``init_otel``, ``flush_otel`` and ``shutdown_otel``: the documented entry points to the runtime.

Rules:
- ``init_otel`` resolves ``OtelConfig`` and the environment (``_settings``; a bad value raises
  ``OtelConfigError`` before anything starts) and has the runtime (``_runtime``) run the
  pipeline built from them (``_pipeline``). It is a no-op while a pipeline runs, and when
  OpenTelemetry is disabled (a later call looks again).
- ``flush_otel`` delivers what the running pipeline holds, keeping it running; before
  ``init_otel`` it does nothing.
- ``shutdown_otel`` stops the pipeline and the urllib instrumentation; safe at any time.
- ``loop`` is accepted for compatibility and not needed: the engine connection runs in its own
  thread.
"""

from __future__ import annotations

import asyncio
import os

from iii_core._generated.observability import OtelConfig
from iii_core.observability._pipeline import ENGINE_FLUSH_TIMEOUT_S, Pipeline, build_pipeline
from iii_core.observability._runtime import RUNTIME
from iii_core.observability._settings import resolve_settings

__all__ = ["flush_otel", "init_otel", "shutdown_otel"]


def init_otel(
    config: OtelConfig | None = None, loop: asyncio.AbstractEventLoop | None = None
) -> None:
    """Start exporting spans, logs and metrics; a no-op while a pipeline already runs."""

    def build() -> Pipeline | None:
        settings = resolve_settings(config or OtelConfig(), os.environ)
        return None if settings is None else build_pipeline(settings)

    RUNTIME.start(build)


async def flush_otel() -> None:
    """Deliver what the providers and the engine connection hold, keeping them running."""
    pipeline = RUNTIME.running()
    if pipeline is None:
        return
    providers = pipeline.providers()
    await asyncio.gather(*(asyncio.to_thread(provider.force_flush) for provider in providers))
    if pipeline.engine is not None:
        await asyncio.to_thread(pipeline.engine.flush, ENGINE_FLUSH_TIMEOUT_S)


def shutdown_otel() -> None:
    """Stop the pipeline (flushing it) and the urllib instrumentation; safe at any time."""
    RUNTIME.stop()
