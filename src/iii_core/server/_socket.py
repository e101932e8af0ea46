"""One client's WebSocket: websockets' sans-I/O ``ServerProtocol`` over an asyncio transport, with
an outbound budget.

Rules: a binding. Incoming bytes go through the protocol, which answers pings and the closing
handshake itself; complete data messages (text or binary, fragmented or not) are handed on as
bytes. Outgoing messages are text frames written straight to the transport, so sending never
waits for a client; what the client has not yet read stays in the transport's buffer.

The slow-client rule: whenever the server has something new to queue on a connection (a
change, a ``sync``, an ``unauthorized``, a pong, a close frame), it first looks at the
connection's backlog, the bytes queued and not yet taken by the client. If the backlog is over
``max_buffered_bytes``, the connection is dropped at once (the TCP connection is aborted, its
backlog discarded) and counted; otherwise the message is queued whole, whatever its size. So a
client that keeps up gets every message, a ``sync`` of a large group and a single large value
included, and a client that does not read holds at most the budget plus one message. Other
clients are never held up, and a dropped client never silently misses a change: it sees its
connection end, and a client that reconnects and joins again gets a fresh ``sync``. (The engine
instead makes every subscriber wait for the slowest one, errata 8.) A message offered to a
connection that is closing or already dropped is counted as dropped.
"""

from __future__ import annotations

import asyncio

from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol

from iii_core.server._stats import Counters

__all__ = ["StreamSocket", "text_frame"]

_DATA = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)


def text_frame(payload: bytes) -> bytes:
    """``payload`` as one unmasked text frame: what a server sends, the same for every client
    (no extension is ever negotiated), so it is encoded once per message."""
    return Frame(Opcode.TEXT, payload).serialize(mask=False)


class StreamSocket:
    """An open WebSocket. Hashable by identity: the hub's connection value."""

    __slots__ = (
        "_counters",
        "_dropped",
        "_fragments",
        "_limit",
        "_protocol",
        "_transport",
        "bytes_received",
        "bytes_sent",
    )

    def __init__(
        self,
        protocol: ServerProtocol,
        transport: asyncio.WriteTransport,
        max_buffered_bytes: int,
        counters: Counters,
    ) -> None:
        self._protocol = protocol
        self._transport = transport
        self._limit = max_buffered_bytes
        self._counters = counters
        self._dropped = False
        self._fragments: list[bytes] = []
        self.bytes_sent = 0
        self.bytes_received = 0

    @property
    def open(self) -> bool:
        return not self._dropped and self._protocol.state is State.OPEN

    def _over_budget(self) -> bool:
        """Drop the connection if its backlog is over the budget (see above)."""
        if self._dropped:
            return True
        backlog = self._transport.get_write_buffer_size()
        if backlog <= self._limit:
            return False
        self._dropped = True
        self._counters.slow_disconnects += 1
        self._counters.bytes_dropped += backlog
        self._transport.abort()
        return True

    def send(self, frame: bytes) -> None:
        """Queue one encoded frame, or drop the connection (see the slow-client rule)."""
        # The fan-out's inner loop: the budget check is inlined for the common case.
        over = self._transport.get_write_buffer_size() > self._limit or self._dropped
        if (over and self._over_budget()) or self._protocol.state is not State.OPEN:
            self._counters.messages_dropped += 1
            return
        self._transport.write(frame)
        self.bytes_sent += len(frame)
        self._counters.messages_sent += 1

    def flush(self) -> None:
        """Queue what the protocol has to send (handshake, pongs, close frames), under the same
        rule; end the TCP connection when the protocol says so."""
        for data in self._protocol.data_to_send():
            if not data:
                self._transport.close()
            elif not self._over_budget():
                self._transport.write(data)
                self.bytes_sent += len(data)

    def receive(self, data: bytes) -> list[bytes]:
        """Feed bytes from the client (``b""`` at end of stream); the complete data messages.
        What the protocol answers (pongs, the closing handshake) waits for :meth:`flush`."""
        self.bytes_received += len(data)
        if data:
            self._protocol.receive_data(data)
        else:
            self._protocol.receive_eof()
        messages = []
        for frame in self._protocol.events_received():
            if not isinstance(frame, Frame) or frame.opcode not in _DATA:
                continue
            self._fragments.append(bytes(frame.data))
            if frame.fin:
                messages.append(b"".join(self._fragments))
                self._fragments.clear()
        return messages

    def close(self, code: int, reason: str) -> None:
        """Start the closing handshake (the client answers, then the connection ends)."""
        if self._protocol.state is State.OPEN:
            self._protocol.send_close(code, reason)
            self.flush()

    def abort(self) -> None:
        self._transport.abort()
