"""The hub's typed errors: a binding that names a connection the hub does not hold, or opens one
twice. Pure data, no I/O.
"""

from __future__ import annotations

__all__ = ["ConnectionAlreadyOpen", "UnknownConnection"]


class UnknownConnection(LookupError):
    """A frame arrived for a connection the hub never opened, or has already closed."""


class ConnectionAlreadyOpen(ValueError):
    """``connect`` was called twice for one connection."""
