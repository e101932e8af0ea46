"""The server's budgets and browser rules, as two frozen values with documented defaults.

Rules: every resource a client can make the server hold has a limit here, and each is an option
of ``iii-core serve`` (``docs/websocket.md`` lists them). Sizes are bytes, times seconds. A
value is checked once, when built: a limit below 1 is a :class:`ValueError` naming it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULT_ACCESS", "DEFAULT_LIMITS", "DEFAULT_MAX_BUFFERED_BYTES", "Access", "Limits"]

DEFAULT_MAX_BUFFERED_BYTES: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class Limits:
    """What one client, or all of them, can make the server hold.

    - ``max_connections``: open TCP connections (HTTP and WebSocket); one more is answered
      ``503`` and closed.
    - ``max_head_bytes``: a request's line and headers (``431`` over it).
    - ``max_body_bytes``: a request body, declared or chunked (``413``, code ``body_too_large``).
    - ``max_body_values``: JSON values in a call's body (``413``, ``body_too_large``): decoding
      and storing cost grows with the count of values, not with bytes, and runs on the event
      loop, so this bounds how long one request can hold everyone else up. Counted, for bodies
      over 64 KiB only, as commas plus opening brackets and braces, those inside strings
      included (found at C speed).
    - ``header_timeout``: from the first byte of a request (or the connection's opening) to the
      end of its headers; ``body_timeout``: from there to the end of its body (``408`` either
      way); ``idle_timeout``: a kept-alive connection waiting for its next request (closed).
    - ``max_message_bytes``: one WebSocket message from a client (closed with ``1009``).
    - ``max_buffered_bytes``: the outbound budget of one WebSocket: every byte queued to it and
      not yet taken by the client (changes, syncs, pongs, close frames). See the slow-client
      rule in :mod:`._socket`.
    - ``max_subscriptions``: subscriptions one WebSocket holds; ``max_name_bytes``: a
      subscription id, stream, group or item name in a client frame, UTF-8 (over either, the
      connection is closed with ``1008``).
    - ``close_timeout``: how long stopping waits for clients to finish the closing handshake.
    """

    max_connections: int = 1000
    max_head_bytes: int = 64 * 1024
    max_body_bytes: int = 4 << 20
    max_body_values: int = 250_000
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 60.0
    max_message_bytes: int = 1 << 20
    max_buffered_bytes: int = DEFAULT_MAX_BUFFERED_BYTES
    max_subscriptions: int = 256
    max_name_bytes: int = 256
    close_timeout: float = 5.0

    def __post_init__(self) -> None:
        for limit in dataclasses.fields(self):
            if not getattr(self, limit.name) > 0:
                raise ValueError(f"{limit.name} must be above 0, not {getattr(self, limit.name)}")


@dataclass(frozen=True, slots=True)
class Access:
    """Who may use the server (the rules are in :mod:`._access`).

    - ``token``: when set, ``/call``, ``/stats`` and the upgrade need
      ``Authorization: Bearer <token>``.
    - ``allow_origins``: ``Origin`` values an upgrade may carry beside the server's own
      (``*``: any).
    - ``allow_hosts``: ``Host`` names a loopback-bound server answers beside loopback ones
      (``*``: any).
    """

    token: str | None = None
    allow_origins: tuple[str, ...] = ()
    allow_hosts: tuple[str, ...] = ()


DEFAULT_LIMITS: Final = Limits()
DEFAULT_ACCESS: Final = Access()
