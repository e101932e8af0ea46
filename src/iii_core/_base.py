"""The base of every generated wire type.

Rules: instances are immutable (``frozen``) and hashable only by identity of their contents;
fields are keyword-only; unknown fields are ignored on decode, as the iii engine's serde
derives and the published pydantic models both ignore them. Nothing here performs I/O.

datamodel-code-generator ignores ``additionalProperties`` and the frozen options for msgspec
output, so these properties are fixed here once instead of in every generated class.

The generated subclasses do not repeat ``frozen=True`` (msgspec inherits it at run time), so type
checkers are told through ``dataclass_transform(frozen_default=True)`` that every subclass is
frozen and keyword-only; without it mypy reports each generated class as a non-frozen dataclass
inheriting from a frozen one.
"""

from __future__ import annotations

from typing import dataclass_transform

import msgspec

__all__ = ["WireStruct"]


@dataclass_transform(field_specifiers=(msgspec.field,), kw_only_default=True, frozen_default=True)
class WireStruct(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=False):
    """Base class of every generated iii wire type."""
