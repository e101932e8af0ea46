"""The server's counters, and the snapshot it exposes (``StreamServer.stats()``, ``GET /stats``).

Rules: a binding's bookkeeping; counters only grow, except the two gauges (open connections and
subscriptions). Updated on the event loop only.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Counters", "ServerStats"]


@dataclass(slots=True)
class Counters:
    connections_total: int = 0
    messages_sent: int = 0
    messages_dropped: int = 0
    bytes_dropped: int = 0
    slow_disconnects: int = 0
    frames_ignored: int = 0
    frames_refused: int = 0
    http_requests: int = 0
    refused_connections: int = 0
    refused_requests: int = 0
    oversized_requests: int = 0
    timeouts: int = 0


@dataclass(frozen=True, slots=True)
class ServerStats:
    """A snapshot of a server's counters.

    - ``connections``: WebSocket connections open now; ``connections_total``: ever opened.
    - ``subscriptions``: subscriptions held now, over all connections.
    - ``messages_sent``: messages queued to a client's connection.
    - ``messages_dropped``: messages not sent because their connection was being dropped as too
      slow, or was closing; ``bytes_dropped``: unsent bytes discarded with dropped connections.
    - ``slow_disconnects``: connections dropped because their unsent bytes were over the
      outbound budget when a new message came.
    - ``frames_ignored``: blank or malformed client frames; ``frames_refused``: client frames
      over the subscription or name limits (their connection is closed).
    - ``http_requests``: plain HTTP requests answered (refusals included).
    - ``refused_connections``: connections answered ``503`` for being over
      ``max_connections``.
    - ``refused_requests``: requests refused by the Host, Origin, token or content-type rules.
    - ``oversized_requests``: requests refused for a head or body over its limit.
    - ``timeouts``: connections closed by the header, body or idle timeout.
    - ``groups_followed``: stream groups whose changes the server follows (joined by a client).
    - ``events_received`` / ``events_decoded``: change events this process received from Redis
      and decoded (0 for the embedded store): with per-group routing a process decodes only
      the events of the groups it follows.
    """

    connections: int
    connections_total: int
    subscriptions: int
    messages_sent: int
    messages_dropped: int
    bytes_dropped: int
    slow_disconnects: int
    frames_ignored: int
    frames_refused: int
    http_requests: int
    refused_connections: int
    refused_requests: int
    oversized_requests: int
    timeouts: int
    groups_followed: int = 0
    events_received: int = 0
    events_decoded: int = 0
