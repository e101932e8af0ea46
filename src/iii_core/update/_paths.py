"""Path normalisation and validation (the engine's ``validate_op_path``).

Rules: segments are literal keys, never split; bounds are checked in the engine's order
(depth before any segment, then per segment left to right: empty, byte length, pollution sink).
Cost is bounded by the path's length, never its content beyond the first failing segment; a
short key that is not a sink is accepted without further work (the common case). Nothing here
performs I/O.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ALWAYS_SHORT",
    "MAX_PATH_DEPTH",
    "MAX_SEGMENT_BYTES",
    "PROTO_POLLUTION_KEYS",
    "PathError",
    "check_key",
    "check_segments",
]

MAX_PATH_DEPTH: Final = 32
MAX_SEGMENT_BYTES: Final = 256
PROTO_POLLUTION_KEYS: Final = frozenset({"__proto__", "constructor", "prototype"})

# (code suffix, message)
PathError = tuple[str, str]

# A character is at most 4 UTF-8 bytes, so a segment this short cannot be over the limit:
# callers test `len(key) > ALWAYS_SHORT or key in PROTO_POLLUTION_KEYS` before calling.
ALWAYS_SHORT: Final = MAX_SEGMENT_BYTES // 4


def _utf8_length(segment: str) -> int:
    # surrogatepass: a lone surrogate (possible in a Python str) counts as its 3 WTF-8 bytes.
    return len(segment.encode("utf-8", "surrogatepass"))


def check_key(segment: str) -> PathError | None:
    """The problem with one non-empty segment, or ``None``."""
    if len(segment) > ALWAYS_SHORT:
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


def check_segments(segments: list[str] | tuple[str, ...]) -> PathError | None:
    """The problem with a list of segments (merge and append), or ``None``."""
    depth = len(segments)
    if depth > MAX_PATH_DEPTH:
        return ("path.too_deep", f"Path depth {depth} exceeds maximum of {MAX_PATH_DEPTH}")
    for segment in segments:
        if not segment:
            return ("path.empty_segment", "Path contains an empty segment")
        if len(segment) > ALWAYS_SHORT or segment in PROTO_POLLUTION_KEYS:
            problem = check_key(segment)
            if problem is not None:
                return problem
    return None
