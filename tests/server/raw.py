"""A WebSocket client on a bare TCP socket, for clients that misbehave on purpose: one that
never reads, one that vanishes without a closing handshake, one that sends broken frames."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
from typing import Any

from websockets.frames import Frame, Opcode

__all__ = ["RawClient", "join_frame"]


def join_frame(subscription_id: str, stream: str, group: str, item: str | None = None) -> str:
    """A ``join`` frame (a group subscription when ``item`` is ``None``)."""
    data: dict[str, Any] = {
        "subscriptionId": subscription_id,
        "streamName": stream,
        "groupId": group,
    }
    if item is not None:
        data["id"] = item
    return json.dumps({"type": "join", "data": data})


class RawClient:
    def __init__(self, port: int, *, receive_buffer: int | None = None, path: str = "/") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(20)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            assert chunk, "connection closed during the handshake"
            head += chunk
        self.status = int(head.split(b" ", 2)[1])

    def send(self, payload: bytes, opcode: Opcode = Opcode.TEXT, *, fin: bool = True) -> None:
        self.sock.sendall(Frame(opcode, payload, fin=fin).serialize(mask=True))

    def join(self, subscription_id: str, stream: str, group: str, item: str | None = None) -> None:
        self.send(join_frame(subscription_id, stream, group, item).encode())

    def vanish(self) -> None:
        """Drop the TCP connection at once (RST), with no closing handshake."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self) -> None:
        self.sock.close()
