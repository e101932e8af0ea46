"""The errors a handler can meet on its request and response channels.

Rules: :class:`ClientDisconnected` is raised by a binding's sink or source once the HTTP client
has gone away (a write, or a read of an unfinished body); :class:`ResponseClosed` by a write to
a response whose body was already ended. Both are typed so a handler can tell "the client left"
from a bug. Nothing here performs I/O.
"""

from __future__ import annotations

from iii_core.errors import ErrorCode, IIICoreError

__all__ = ["ClientDisconnected", "ResponseClosed"]


class ClientDisconnected(IIICoreError, ConnectionError):
    """The HTTP client disconnected: the response cannot be delivered, the body will not end."""

    code = ErrorCode.CLIENT_DISCONNECTED


class ResponseClosed(IIICoreError, RuntimeError):
    """A write to a response whose body was already ended."""

    code = ErrorCode.RESPONSE_CLOSED
