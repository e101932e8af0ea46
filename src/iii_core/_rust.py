"""Rust standard-library text rules that the engine's parsing relies on.

Rules: ``str::trim`` strips Unicode White_Space, which differs from Python's ``str.strip()``
(that one also strips U+001C..U+001F). Pure, no I/O.
"""

from __future__ import annotations

from typing import Final

__all__ = ["rust_trim"]

_WHITE_SPACE: Final = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def rust_trim(text: str) -> str:
    """``text.trim()`` as Rust computes it."""
    return text.strip(_WHITE_SPACE)
