"""The process's observability runtime: the one object that owns what ``init_otel`` starts.

Rules:
- :data:`RUNTIME` is the only instance. It owns the lock, the running pipeline (at most one),
  the urllib patch, the exit hook and the one-time offer of the providers as OpenTelemetry's
  globals; nothing else in ``iii_core.observability`` keeps process state.
- ``start`` builds a pipeline under the lock and does nothing while one runs (even with another
  config) or when the builder returns None (OpenTelemetry disabled: a later call looks again).
  ``stop`` removes the urllib patch and the pipeline under the lock, then shuts the pipeline
  down (flushing it); it is safe at any time and runs at exit.
- Readers take one snapshot with ``running()`` and keep using it, so a concurrent ``stop``
  never leaves them half-way.
- OpenTelemetry lets its global providers be set once per process; they are offered the first
  pipeline's providers, once (iii-helpers does the same). Later pipelines are used by the iii
  helpers directly, so ``init`` -> ``shutdown`` -> ``init`` works for them any number of times;
  code that reads OpenTelemetry's globals keeps the first pipeline's (shut down) providers.
- This module imports no OpenTelemetry: ``Logger`` reads the runtime without the ``otel`` extra.
"""

from __future__ import annotations

import atexit
import threading
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iii_core.observability._pipeline import Pipeline

__all__ = ["RUNTIME", "ObservabilityRuntime"]


class ObservabilityRuntime:
    """The running pipeline and every process-wide effect of ``init_otel``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pipeline: Pipeline | None = None
        self._original_open: Any = None  # OpenerDirector.open while the patch is on
        self._exit_hook = False
        self._globals_offered = False

    def running(self) -> Pipeline | None:
        """The running pipeline, or None before ``init_otel`` and after ``shutdown_otel``."""
        return self._pipeline

    def start(self, build: Callable[[], Pipeline | None]) -> None:
        """Run the pipeline ``build()`` returns, unless one runs already or it returns None."""
        with self._lock:
            if self._pipeline is not None:
                return
            pipeline = build()
            if pipeline is None:
                return
            self._pipeline = pipeline
            if not self._globals_offered:
                self._globals_offered = True
                pipeline.offer_as_globals()
            if pipeline.wrap_urlopen is not None and self._original_open is None:
                self._original_open = urllib.request.OpenerDirector.open
                urllib.request.OpenerDirector.open = pipeline.wrap_urlopen(self._original_open)  # type: ignore[method-assign]
            if not self._exit_hook:
                self._exit_hook = True
                atexit.register(self.stop)

    def stop(self) -> None:
        """Remove the urllib patch and shut the running pipeline down (flushing it)."""
        with self._lock:
            if self._original_open is not None:
                urllib.request.OpenerDirector.open = self._original_open  # type: ignore[method-assign]
                self._original_open = None
            pipeline, self._pipeline = self._pipeline, None
            if pipeline is not None:
                pipeline.shutdown()

    @property
    def urllib_patched(self) -> bool:
        """Whether ``urllib.request.OpenerDirector.open`` is currently traced."""
        return self._original_open is not None

    @property
    def exit_hook_registered(self) -> bool:
        """Whether ``stop`` is registered to run at exit (once per process)."""
        return self._exit_hook


RUNTIME = ObservabilityRuntime()
