"""Path normalisation and validation (the engine's ``validate_op_path``).

Rules: segments are literal keys, never split; bounds are checked in the engine's order
(depth before any segment, then per segment left to right: empty, byte length, pollution sink).
Cost is bounded by the path's length, never its content beyond the first failing segment.
Nothing here performs I/O.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = [
    "MAX_PATH_DEPTH",
    "MAX_SEGMENT_BYTES",
    "PROTO_POLLUTION_KEYS",
    "PathError",
    "check_segments",
    "merge_segments",
]

MAX_PATH_DEPTH: Final = 32
MAX_SEGMENT_BYTES: Final = 256
PROTO_POLLUTION_KEYS: Final = frozenset({"__proto__", "constructor", "prototype"})

# (code suffix, message)
PathError = tuple[str, str]

# A character is at most 4 UTF-8 bytes, so a segment this short cannot be over the limit.
_ALWAYS_SHORT: Final = MAX_SEGMENT_BYTES // 4


def _utf8_length(segment: str) -> int:
    # surrogatepass: a lone surrogate (possible in a Python str) counts as its 3 WTF-8 bytes.
    return len(segment.encode("utf-8", "surrogatepass"))


def check_segments(segments: list[str] | tuple[str, ...]) -> PathError | None:
    depth = len(segments)
    if depth > MAX_PATH_DEPTH:
        return ("path.too_deep", f"Path depth {depth} exceeds maximum of {MAX_PATH_DEPTH}")
    for segment in segments:
        if not segment:
            return ("path.empty_segment", "Path contains an empty segment")
        if len(segment) > _ALWAYS_SHORT:
            size = _utf8_length(segment)
            if size > MAX_SEGMENT_BYTES:
                return (
                    "path.segment_too_long",
                    f"Path segment of {size} bytes exceeds maximum of {MAX_SEGMENT_BYTES}",
                )
        if segment in PROTO_POLLUTION_KEYS:
            return (
                "path.proto_polluted",
                f"Path segment '{segment}' is not allowed (prototype pollution).",
            )
    return None


def merge_segments(path: Any) -> list[str] | tuple[str, ...]:
    """Segments of a decoded merge/append path: ``None``, ``""`` and ``[]`` are the root."""
    if path is None or path == "":
        return ()
    if type(path) is str:
        return (path,)
    segments: list[str] = path
    return segments
