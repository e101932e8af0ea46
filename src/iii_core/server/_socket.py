"""One client's WebSocket: websockets' sans-I/O ``ServerProtocol`` over an asyncio transport, with
a bounded outbound buffer.

Rules: a binding. Incoming bytes go through the protocol, which answers pings and the closing
handshake itself; complete data messages (text or binary, fragmented or not) are handed on as
bytes. Outgoing messages are text frames written straight to the transport, so sending never
waits for a client; what the client has not yet read stays in the transport's buffer.

Slow clients: when a message would take a connection's unsent bytes over ``max_buffered_bytes``,
the connection is dropped at once (the TCP connection is aborted, its unsent bytes discarded)
and counted. Other clients are never held up, and a dropped client never silently misses a
change: it sees its connection end, and a client that reconnects and joins again gets a fresh
``sync``. (The engine instead makes every subscriber wait for the slowest one, errata 8.) A
message offered to a connection that is closing or already dropped is counted as dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol

from iii_core.server._stats import Counters

__all__ = ["StreamSocket", "text_frame"]

_READ_SIZE = 65536


def text_frame(payload: bytes) -> bytes:
    """``payload`` as one unmasked text frame: what a server sends, the same for every client
    (no extension is ever negotiated), so it is encoded once per message."""
    return Frame(Opcode.TEXT, payload).serialize(mask=False)


class StreamSocket:
    """An open WebSocket. Hashable by identity: the hub's connection value."""

    __slots__ = ("_counters", "_dropped", "_limit", "_protocol", "_transport")

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

    def send(self, frame: bytes) -> None:
        """Queue one encoded frame, or drop the connection if it cannot take it (see above)."""
        if self._dropped or self._protocol.state is not State.OPEN:
            self._counters.messages_dropped += 1
            return
        unsent = self._transport.get_write_buffer_size()
        if unsent + len(frame) > self._limit:
            self._dropped = True
            self._counters.slow_disconnects += 1
            self._counters.messages_dropped += 1
            self._counters.bytes_dropped += unsent
            self._transport.abort()
            return
        self._transport.write(frame)
        self._counters.messages_sent += 1

    def flush(self) -> None:
        """Write what the protocol has to send (handshake, pongs, close frames); end the TCP
        connection when it says so."""
        for data in self._protocol.data_to_send():
            if data:
                self._transport.write(data)
            else:
                self._transport.close()

    def close(self, code: int, reason: str) -> None:
        """Start the closing handshake (the client answers, then the connection ends)."""
        if self._protocol.state is State.OPEN:
            self._protocol.send_close(code, reason)
            self.flush()

    def abort(self) -> None:
        self._transport.abort()

    async def messages(self, reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
        """Every complete data message from the client, until the connection ends."""
        fragments: list[bytes] = []
        while True:
            try:
                data = await reader.read(_READ_SIZE)
            except ConnectionError:
                data = b""
            if data:
                self._protocol.receive_data(data)
            else:
                self._protocol.receive_eof()
            for frame in self._protocol.events_received():
                if not isinstance(frame, Frame) or frame.opcode not in (
                    Opcode.TEXT,
                    Opcode.BINARY,
                    Opcode.CONT,
                ):
                    continue
                fragments.append(bytes(frame.data))
                if frame.fin:
                    message = b"".join(fragments)
                    fragments.clear()
                    yield message
            self.flush()
            if not data:
                return
