"""The hub's typed errors: a binding that names a connection the hub does not hold, or opens one
twice. Pure data, no I/O.
"""

from __future__ import annotations

from iii_core.errors import ErrorCode, IIICoreError

__all__ = ["ConnectionAlreadyOpen", "UnknownConnection"]


class UnknownConnection(IIICoreError, LookupError):
    """A frame arrived for a connection the hub never opened, or has already closed."""

    code = ErrorCode.UNKNOWN_CONNECTION


class ConnectionAlreadyOpen(IIICoreError, ValueError):
    """``connect`` was called twice for one connection."""

    code = ErrorCode.CONNECTION_ALREADY_OPEN
