"""The ``MISSING`` sentinel: no stored value, which is not the same as a stored ``null``."""

from __future__ import annotations

import enum
from typing import Final, Literal

__all__ = ["MISSING", "Missing"]


class Missing(enum.Enum):
    """Type of :data:`MISSING`; an enum so that type checkers can narrow on ``is MISSING``."""

    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> Literal[False]:
        return False


MISSING: Final = Missing.MISSING
