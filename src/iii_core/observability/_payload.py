"""Redaction and truncation of invocation payloads, as iii-helpers 0.20.0 records them on spans.

Rules:
- A dict key is sensitive when its lower-cased form contains one of ``SENSITIVE_FRAGMENTS``, or
  is exactly ``token``, or ends in ``_token`` or ``-token``. A sensitive key's value is replaced
  whole by ``REDACTED_PLACEHOLDER``, whatever it holds.
- ``redact`` rebuilds dicts, lists and tuples (as plain ``dict``/``list``/``tuple``) and returns
  every other value unchanged; it never mutates its input.
- Nothing is walked recursively: ``redact`` keeps its own stack. The top-level container is at
  depth 1; a container at depth ``MAX_DEPTH + 1`` or deeper, or one that contains itself (a
  reference back to one of its own ancestors), is replaced whole by ``REDACTED_PLACEHOLDER``:
  what was not inspected is not shown. The result is therefore always a finite tree at most
  ``MAX_DEPTH`` containers deep, which ``json.dumps`` can serialise.
- A dict key that is not a ``str`` raises ``NonStringKeyError`` (an ``AttributeError``, as the
  published package raises, and a ``TypeError``), naming the path of the dict.
- ``redact_and_truncate`` serialises like ``json.dumps(..., default=str, ensure_ascii=False)``
  (``"null"`` when that fails) and cuts the UTF-8 bytes at a code-point boundary so that the
  result, marker included, is at most ``max_bytes`` bytes.
- ``resolve_max_bytes_from_env`` reads ``III_TRACE_PAYLOAD_MAX_BYTES`` from the mapping it is
  given (``os.environ`` by default); there is no default cap.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from iii_core.errors import ErrorCode, IIICoreError

__all__ = [
    "MAX_BYTES_ENV",
    "MAX_DEPTH",
    "REDACTED_PLACEHOLDER",
    "SENSITIVE_FRAGMENTS",
    "TRUNCATION_MARKER",
    "NonStringKeyError",
    "is_sensitive_key",
    "redact",
    "redact_and_truncate",
    "resolve_max_bytes_from_env",
]

REDACTED_PLACEHOLDER = "[REDACTED]"
TRUNCATION_MARKER = '..."[TRUNCATED]"'
_MARKER_BYTES = TRUNCATION_MARKER.encode()
MAX_BYTES_ENV = "III_TRACE_PAYLOAD_MAX_BYTES"

# Deep enough for any real payload, shallow enough that ``json.dumps`` (recursive in C) can
# always serialise the result from an ordinary call stack.
MAX_DEPTH = 512

SENSITIVE_FRAGMENTS = (
    "api_key",
    "apikey",
    "api-key",
    "password",
    "secret",
    "credential",
    "authorization",
    "auth_token",
    "access_token",
    "refresh_token",
    "bearer",
    "private_key",
    "client_secret",
)

_CONTAINERS = (dict, list, tuple)


class NonStringKeyError(IIICoreError, AttributeError, TypeError):
    """A dict handed to ``redact`` has a key that is not a ``str``."""

    code = ErrorCode.NON_STRING_KEY


def is_sensitive_key(key: str) -> bool:
    """Whether the value under ``key`` is replaced by ``REDACTED_PLACEHOLDER``."""
    lower = key.lower()
    if any(fragment in lower for fragment in SENSITIVE_FRAGMENTS):
        return True
    # "token" alone is too common a substring (tokens, token_type): whole key or suffix only.
    return lower == "token" or lower.endswith(("_token", "-token"))


class _Frame:
    """One container being rebuilt: its children still to visit and the values built so far."""

    __slots__ = ("built", "keys", "label", "pending", "source")

    def __init__(
        self,
        source: dict[Any, Any] | list[Any] | tuple[Any, ...],
        label: object,
        path: list[_Frame],
    ) -> None:
        self.source = source
        self.label = label  # the key or index of this container in its parent, for error paths
        self.built: list[Any] = []
        self.keys: list[str] = []
        if isinstance(source, dict):
            for key in source:
                if not isinstance(key, str):
                    where = "$" + "".join(f"[{frame.label!r}]" for frame in [*path, self][1:])
                    kind = type(key).__name__
                    raise NonStringKeyError(
                        f"redact: dict keys must be str, got {kind} {key!r} at {where}"
                    )
            self.pending: list[tuple[str | None, Any]] = list(source.items())[::-1]
        else:
            self.pending = [(None, item) for item in list(source)[::-1]]

    def finish(self) -> Any:
        if isinstance(self.source, dict):
            return dict(zip(self.keys, self.built, strict=True))
        if isinstance(self.source, list):
            return self.built
        return tuple(self.built)


def redact(value: Any) -> Any:
    """Return ``value`` with every sensitive dict entry replaced by ``"[REDACTED]"``."""
    if not isinstance(value, _CONTAINERS):
        return value
    stack: list[_Frame] = []
    stack.append(_Frame(value, None, stack))
    on_path = {id(value)}
    while True:
        frame = stack[-1]
        if not frame.pending:
            stack.pop()
            on_path.discard(id(frame.source))
            result = frame.finish()
            if not stack:
                return result
            stack[-1].built.append(result)
            continue
        key, child = frame.pending.pop()
        if key is not None:
            frame.keys.append(key)
            if is_sensitive_key(key):
                frame.built.append(REDACTED_PLACEHOLDER)
                continue
        if not isinstance(child, _CONTAINERS):
            frame.built.append(child)
        elif id(child) in on_path or len(stack) >= MAX_DEPTH:
            frame.built.append(REDACTED_PLACEHOLDER)
        else:
            label = key if key is not None else len(frame.built)
            stack.append(_Frame(child, label, stack))
            on_path.add(id(child))


def redact_and_truncate(value: Any, max_bytes: int | None = None) -> tuple[str, bool]:
    """Redact ``value``, serialise it, and cap it at ``max_bytes`` UTF-8 bytes.

    Returns ``(text, truncated)``. ``max_bytes`` of None or <= 0 means no cap. A truncated text
    ends with the 16-byte marker ``..."[TRUNCATED]"`` and is usually not valid JSON.
    """
    redacted = redact(value)
    try:
        serialized = json.dumps(redacted, default=str, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        serialized = "null"
    if max_bytes is None or max_bytes <= 0:
        return serialized, False
    encoded = serialized.encode()
    if len(encoded) <= max_bytes:
        return serialized, False
    if max_bytes <= len(_MARKER_BYTES):
        return TRUNCATION_MARKER[:max_bytes], True
    cut = max_bytes - len(_MARKER_BYTES)
    while cut > 0 and encoded[cut] & 0xC0 == 0x80:  # a UTF-8 continuation byte
        cut -= 1
    return encoded[:cut].decode() + TRUNCATION_MARKER, True


def resolve_max_bytes_from_env(environ: Mapping[str, str] | None = None) -> int | None:
    """The payload cap from ``III_TRACE_PAYLOAD_MAX_BYTES``, or None for no cap.

    None when the variable is unset, blank, ``unlimited`` (any case), not an ``int()`` literal,
    or <= 0.
    """
    raw = (os.environ if environ is None else environ).get(MAX_BYTES_ENV)
    if raw is None:
        return None
    trimmed = raw.strip()
    if not trimmed or trimmed.lower() == "unlimited":
        return None
    try:
        parsed = int(trimmed)
    except ValueError:
        return None
    return parsed if parsed > 0 else None
