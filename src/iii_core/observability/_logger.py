"""``Logger``: structured logs as OpenTelemetry log records, or stdlib ``logging`` without them.

Rules (iii-helpers 0.20.0, record shape in ``_log_record``):
- Four methods, ``info``, ``warn``, ``error`` and ``debug``, each ``(message, data=None)``.
- While an ``init_otel`` pipeline with a log exporter runs, each call emits one OpenTelemetry
  log record, correlated with the current span (or with the Logger's own ``trace_id`` /
  ``span_id``). Otherwise, or if emitting raises, the call goes to the stdlib logger
  ``iii.logger`` (``warn`` maps to ``warning``) as ``"[<service_name>] <message>"``, followed,
  when ``data`` is not None, by a space and ``data`` as compact JSON with sorted keys
  (non-JSON values as ``str()``; data JSON cannot write at all, such as a cycle, a very deep
  nesting or keys it cannot sort, as a bounded ``repr()``: 16 levels, 1000 items per level),
  and with ``extra={"data": data}``. iii-helpers puts ``data`` in ``extra`` only, where no
  default handler shows it. The JSON is built only if the record is emitted.
- This module imports no OpenTelemetry, so ``Logger`` works without the ``otel`` extra.
"""

from __future__ import annotations

import json
import logging
import reprlib
from typing import Any

from iii_core.observability._runtime import RUNTIME

__all__ = ["Logger"]

_log = logging.getLogger("iii.logger")
_STDLIB_LEVELS = {
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "debug": logging.DEBUG,
}


_REPR = reprlib.Repr()
_REPR.maxlevel = 16
_REPR.maxdict = _REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = 1000
_REPR.maxstring = _REPR.maxother = 10_000


class _Data:
    """``data`` as the fallback writes it, computed only when a handler formats the record."""

    __slots__ = ("data",)

    def __init__(self, data: Any) -> None:
        self.data = data

    def __str__(self) -> str:
        if self.data is None:
            return ""
        try:
            text = json.dumps(
                self.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
            )
        except (TypeError, ValueError, RecursionError):  # a cycle, or keys json cannot sort
            text = _REPR.repr(self.data)
        return f" {text}"


class Logger:
    """Structured logger correlated with the active trace."""

    def __init__(
        self,
        trace_id: str | None = None,
        service_name: str | None = None,
        span_id: str | None = None,
    ) -> None:
        self._trace_id = trace_id
        self._service_name = service_name or ""
        self._span_id = span_id

    def info(self, message: str, data: Any = None) -> None:
        """Log at info level; ``data`` becomes the ``log.data`` attribute."""
        self._emit("info", message, data)

    def warn(self, message: str, data: Any = None) -> None:
        """Log at warning level; ``data`` becomes the ``log.data`` attribute."""
        self._emit("warn", message, data)

    def error(self, message: str, data: Any = None) -> None:
        """Log at error level; ``data`` becomes the ``log.data`` attribute."""
        self._emit("error", message, data)

    def debug(self, message: str, data: Any = None) -> None:
        """Log at debug level; ``data`` becomes the ``log.data`` attribute."""
        self._emit("debug", message, data)

    def _emit(self, level: str, message: str, data: Any) -> None:
        pipeline = RUNTIME.running()
        if pipeline is not None and pipeline.logger is not None:
            try:
                pipeline.emit_log(
                    level,
                    message,
                    data,
                    service_name=self._service_name,
                    trace_id=self._trace_id,
                    span_id=self._span_id,
                )
                return
            except Exception:  # a log call never fails: fall back to stdlib logging
                pass
        _log.log(
            _STDLIB_LEVELS[level],
            "[%s] %s%s",
            self._service_name,
            message,
            _Data(data),
            extra={"data": data},
        )
