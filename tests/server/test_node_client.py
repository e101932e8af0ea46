"""The third-party client ``@motiadev/stream-client-node`` (from the npm registry) against
``iii-core serve``: it subscribes to a group and to one item of it, a Python writer changes them
through the server's HTTP calls, and the client must see the sync and every change, in order.

The client drops an item message whose timestamp is not newer than the last one it applied (and
a group update not newer than that item's last), so the writer starts each write in a later
millisecond than the previous write's answer: two changes in one millisecond would be the
client's loss, not the server's. Written on the same machine, the server's clock is the
writer's.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.redis_server import RedisServer
from tests.server.support import ServeProcess

SCRIPT = Path(__file__).parent / "node" / "subscribe.mjs"
STREAM, GROUP, ITEM = "orders", "room-1", "a"
WRITES = 30


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Writer:
    """Writes through ``server``, each write in a later millisecond than the last answer, and
    keeps the model of what the client's group state must go through."""

    def __init__(self, server: ServeProcess) -> None:
        self.server = server
        self.last_answer_ms = now_ms()
        self.group: list[dict[str, Any]] = []
        self.group_states: list[list[dict[str, Any]]] = []
        self.item_states: list[Any] = []

    def _write(self, function_id: str, payload: dict[str, Any]) -> Any:
        while now_ms() <= self.last_answer_ms:
            time.sleep(0.0002)
        result = self.server.call(
            function_id, {"stream_name": STREAM, "group_id": GROUP, **payload}
        )
        self.last_answer_ms = now_ms()
        return result

    def set(self, item_id: str, data: dict[str, Any]) -> None:
        self._write("stream::set", {"item_id": item_id, "data": data})
        if any(entry["id"] == item_id for entry in self.group):
            self.group = [data if entry["id"] == item_id else entry for entry in self.group]
        else:
            self.group = [*self.group, data]
        self.group_states.append(self.group)
        if item_id == ITEM:
            self.item_states.append(data)

    def update(self, item_id: str, merge: dict[str, Any]) -> None:
        ops = [{"type": "merge", "value": merge}]
        new = self._write("stream::update", {"item_id": item_id, "ops": ops})["new_value"]
        self.group = [new if entry["id"] == item_id else entry for entry in self.group]
        self.group_states.append(self.group)

    def delete(self, item_id: str) -> None:
        self._write("stream::delete", {"item_id": item_id})
        self.group = [entry for entry in self.group if entry["id"] != item_id]
        self.group_states.append(self.group)

    def send(self, kind: str, data: Any) -> None:
        self._write("stream::send", {"type": kind, "data": data})


@pytest.fixture(params=["memory", "two-processes-on-redis"])
def servers(
    request: pytest.FixtureRequest, redis_server: RedisServer
) -> Iterator[tuple[ServeProcess, ServeProcess]]:
    """(the server the client subscribes to, the server the writer writes through)."""
    if request.param == "memory":
        one = ServeProcess()
        yield one, one
        assert one.stop() == 0
        return
    redis_server.flush()
    subscribed, written = (
        ServeProcess("--redis", redis_server.url),
        ServeProcess("--redis", redis_server.url),
    )
    yield subscribed, written
    assert subscribed.stop() == 0
    assert written.stop() == 0


def test_the_node_client_sees_the_sync_and_every_change(
    node: str, servers: tuple[ServeProcess, ServeProcess]
) -> None:
    subscribed, written = servers
    writer = Writer(written)
    writer.set(ITEM, {"id": ITEM, "n": 0})
    writer.set("b", {"id": "b", "n": 0})
    synced_group, synced_item = writer.group, writer.item_states[-1]
    writer.group_states, writer.item_states = [synced_group], [synced_item]

    client = subprocess.Popen(
        [node, str(SCRIPT), subscribed.url, STREAM, GROUP, ITEM],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert client.stdout is not None
        ready = client.stdout.readline()  # the script gives up and says so after 60 s
        assert json.loads(ready) == {"ready": True}, (ready, client.stderr)
        writer.last_answer_ms = now_ms()  # the syncs were stamped before the client said so
        for n in range(1, WRITES + 1):
            writer.set(ITEM, {"id": ITEM, "n": n})
            if n % 5 == 0:
                writer.update("b", {"n": n})
            if n == 7:
                writer.set("c", {"id": "c", "n": n})
            if n == 12:
                writer.delete("c")
            if n == 20:
                writer.send("note", {"n": n})
        writer.send("done", None)
        out, err = client.communicate(timeout=60)
    finally:
        if client.poll() is None:
            client.kill()
            client.communicate(timeout=10)
    assert client.returncode == 0, (out, err)
    record = json.loads(out)
    assert record["item"] == writer.item_states
    assert record["group"] == writer.group_states
    assert record["notes"] == [{"n": 20}]
