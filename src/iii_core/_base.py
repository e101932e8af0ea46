"""The base of every generated wire type.

Rules: instances are immutable (``frozen``) and hashable only by identity of their contents;
fields are keyword-only; unknown fields are ignored on decode, as the iii engine's serde
derives and the published pydantic models both ignore them. Nothing here performs I/O.

datamodel-code-generator ignores ``additionalProperties`` and the frozen options for msgspec
output, so these properties are fixed here once instead of in every generated class.
"""

from __future__ import annotations

import msgspec

__all__ = ["WireStruct"]


class WireStruct(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=False):
    """Base class of every generated iii wire type."""
