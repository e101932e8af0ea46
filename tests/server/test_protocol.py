"""The server's protocol over real sockets: the HTTP calls, the WebSocket handshake, the auth
input, the hooks, and the frames the engine accepts."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import Opcode
from websockets.sync.client import connect

from iii_core._generated.stream import StreamAuthInput, StreamAuthResult, StreamJoinLeaveEvent
from iii_core.backends import MemoryStore
from iii_core.backends.redis import RedisStore
from iii_core.server import ServerStats
from tests.redis_server import RedisServer
from tests.server.raw import RawClient, join_frame
from tests.server.support import ServerThread, StoreCallFailed, join, wait_until

JSON = {"content-type": "application/json"}


@pytest.fixture
def server() -> Iterator[ServerThread]:
    running = ServerThread(lambda: MemoryStore(max_value_bytes=64))
    yield running
    running.stop()


CALLS: list[tuple[str, Any]] = [
    ("stream::set", {"stream_name": "s", "group_id": "g", "item_id": "i", "data": {"n": 1}}),
    (
        "stream::update",
        {
            "stream_name": "s",
            "group_id": "g",
            "item_id": "i",
            "ops": [
                {"type": "increment", "path": "n", "by": 2},
                {"type": "append", "path": "n", "value": "x"},
            ],
        },
    ),
    ("stream::get", {"stream_name": "s", "group_id": "g", "item_id": "i"}),
    ("stream::get", {"stream_name": "s", "group_id": "g", "item_id": "missing"}),
    ("stream::list", {"stream_name": "s", "group_id": "g"}),
    ("stream::list_groups", {"stream_name": "s"}),
    ("stream::list_all", {}),
    ("stream::send", {"stream_name": "s", "group_id": "g", "type": "t", "data": 1}),
    ("stream::delete", {"stream_name": "s", "group_id": "g", "item_id": "i"}),
    ("state::set", {"scope": "sc", "key": "k", "value": [1]}),
    (
        "state::update",
        {"scope": "sc", "key": "k", "ops": [{"type": "append", "path": "", "value": 2}]},
    ),
    ("state::get", {"scope": "sc", "key": "k"}),
    ("state::list", {"scope": "sc"}),
    ("state::list_groups", {}),
    ("state::delete", {"scope": "sc", "key": "k"}),
]


def test_every_call_answers_as_the_store_does(server: ServerThread) -> None:
    reference = MemoryStore(max_value_bytes=64)
    for function_id, payload in CALLS:
        assert server.call(function_id, payload) == reference.call(function_id, payload), (
            function_id
        )


@pytest.mark.parametrize(
    "case",
    [
        ("stream::set", b"{", 400, "invalid_json", None),
        ("stream::set", b"", 400, "invalid_json", None),
        (
            "stream::set",
            b'{"stream_name": "s"}',
            400,
            "deserialization_error",
            "Failed to deserialize input for stream::set: missing field `group_id`",
        ),
        (
            "stream::update",
            b'{"stream_name": "s", "group_id": "g", "item_id": "i", "ops": [{"type": "increment", "path": "n", "by": 1.5}]}',
            400,
            "deserialization_error",
            None,
        ),
        ("stream::nope", b"{}", 404, "function_not_found", "Function stream::nope not found"),
        (
            "state::set",
            b'{"scope": "s", "key": "k", "value": "' + b"x" * 100 + b'"}',
            413,
            "VALUE_TOO_LARGE",
            None,
        ),
    ],
)
def test_failed_calls_answer_the_store_error(
    server: ServerThread, case: tuple[str, bytes, int, str, str | None]
) -> None:
    function_id, body, status, code, message = case
    answer = server.http.post(f"/call/{function_id}", content=body, headers=JSON)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert error["code"] == code
    if message is not None:
        assert error["message"] == message
    assert server.call("stream::list_all", {}) == {"stream": [], "count": 0}  # nothing written


def test_routes(server: ServerThread) -> None:
    assert server.http.post("/call/stream%3A%3Alist_all", content=b"{}", headers=JSON).json() == {
        "result": {"stream": [], "count": 0}
    }
    assert server.http.get("/call/stream::list_all").status_code == 405
    assert server.http.get("/nowhere").status_code == 404
    assert server.http.get("/").status_code == 426
    stats = server.http.get("/stats").json()
    assert list(stats) == [field.name for field in dataclasses.fields(ServerStats)]
    assert stats["http_requests"] == 4 and stats["refused_requests"] == 0


def test_websocket_is_served_on_root_only(server: ServerThread) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(server.url + "elsewhere", open_timeout=10)
    assert refused.value.response.status_code == 404


def test_auth_input_context_and_hooks_over_a_real_connection() -> None:
    seen: dict[str, Any] = {"auth": [], "joins": [], "leaves": []}

    async def auth(request: StreamAuthInput) -> StreamAuthResult:
        seen["auth"].append(request)
        await asyncio.sleep(0)
        return StreamAuthResult(context={"token": request.query_params.get("token")})

    def reject_private(event: StreamJoinLeaveEvent) -> Any:
        seen["joins"].append(msgspec.to_builtins(event))
        return {"unauthorized": event.group_id == "private"}

    async def failing(_event: StreamJoinLeaveEvent) -> Any:
        raise RuntimeError("a broken hook allows the join")

    def leave(event: StreamJoinLeaveEvent) -> None:
        seen["leaves"].append(event.subscription_id)

    running = ServerThread(
        MemoryStore, auth=auth, join_hooks=[failing, reject_private], leave_hooks=[leave]
    )
    try:
        with connect(
            running.url + "?token=a%20b&x=1&x=2&=skip&flag",
            additional_headers=[("X-Team", "one"), ("x-team", "two"), ("X-Odd", "caf\u00e9")],
            open_timeout=10,
        ) as client:
            request = seen["auth"][0]
            assert request.path == "/"
            assert request.query_params == {"token": ["a%20b"], "x": ["1", "2"], "flag": [""]}
            assert request.headers["x-team"] == "two"
            assert "x-odd" not in request.headers  # not visible ASCII: the engine drops it
            assert request.headers["upgrade"] == "websocket"
            local_port = client.socket.getsockname()[1]
            assert request.addr == f"127.0.0.1:{local_port}"

            assert join(client, "mine")["event"] == {"type": "sync", "data": []}
            assert join(client, "secret", group="private")["event"] == {"type": "unauthorized"}
            assert [j["context"] for j in seen["joins"]] == [{"token": ["a%20b"]}] * 2
            client.send(
                json.dumps(
                    {
                        "type": "leave",
                        "data": {"subscriptionId": "ghost", "streamName": "s", "groupId": "g"},
                    }
                )
            )
            assert client.ping().wait(20)
            assert seen["leaves"] == ["ghost"]
        wait_until(lambda: running.server_stats().connections == 0, "the close")
        assert seen["leaves"] == ["ghost", "mine"]
    finally:
        running.stop()


def test_frames_text_binary_fragmented_and_pings(server: ServerThread) -> None:
    raw = RawClient(server.server.port)
    try:
        assert raw.status == 101
        frame = join_frame("a", "s", "g").encode()
        raw.send(frame[:10], fin=False)
        raw.send(b"", Opcode.PING)  # control frames may come between fragments
        raw.send(frame[10:], Opcode.CONT)
        raw.send(frame.replace(b'"a"', b'"b"'), Opcode.BINARY)
        wait_until(lambda: server.server_stats().subscriptions == 2, "two subscriptions")
    finally:
        raw.close()


def test_a_memory_store_written_by_another_thread_is_delivered(server: ServerThread) -> None:
    with connect(server.url, open_timeout=10) as client:
        join(client, "a")
        store = server.store
        assert isinstance(store, MemoryStore)
        store.call("stream::set", {"stream_name": "s", "group_id": "g", "item_id": "i", "data": 1})
        assert json.loads(client.recv(timeout=20))["event"] == {"type": "create", "data": 1}


def test_stopping_closes_sockets_and_runs_leave_hooks() -> None:
    leaves: list[str] = []
    running = ServerThread(
        MemoryStore, leave_hooks=[lambda event: leaves.append(event.subscription_id)]
    )
    with connect(running.url, open_timeout=10) as client:
        join(client, "a")
        join(client, "b", item="i")
        running.run(running.server.stop())
        with pytest.raises(ConnectionClosed) as closed:
            client.recv(timeout=20)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert leaves == ["a", "b"]
    with pytest.raises(httpx.ConnectError):
        httpx.get(running.base_url + "/stats")
    running.stop()


def test_call_failures_raise(server: ServerThread) -> None:
    with pytest.raises(StoreCallFailed) as failed:
        server.call("stream::get", None)
    assert failed.value.status == 400


def test_a_synchronous_redis_store_is_served(redis_server: RedisServer) -> None:
    redis_server.flush()
    running = ServerThread(lambda: RedisStore.from_url(redis_server.url))
    try:
        with connect(running.url, open_timeout=10) as client:
            join(client, "a")
            running.call(
                "stream::set", {"stream_name": "s", "group_id": "g", "item_id": "i", "data": 1}
            )
            with RedisStore.from_url(redis_server.url) as other_process:
                other_process.call(
                    "stream::set", {"stream_name": "s", "group_id": "g", "item_id": "i", "data": 2}
                )
            got = [json.loads(client.recv(timeout=20))["event"] for _ in range(2)]
            assert got == [{"type": "create", "data": 1}, {"type": "update", "data": 2}]
    finally:
        running.stop()
