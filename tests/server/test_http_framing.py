"""HTTP/1.1 framing against a real ``iii-core serve`` process over real sockets: Content-Length
that is bad, repeated, non-ASCII or 5,000 digits long, chunked bodies, HEAD, pipelining, bad
methods, heads and bodies over their limits. Every refusal is an answer (never a dropped
connection with nothing said), and the server goes on serving."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.server.support import ServeProcess, ServerThread

LIMIT = 64 * 1024
ITEM = {"stream_name": "s", "group_id": "g", "item_id": "i"}


@pytest.fixture(scope="module")
def serve() -> Iterator[ServeProcess]:
    process = ServeProcess("--max-body-bytes", str(LIMIT), "--max-head-bytes", "8192")
    yield process
    assert process.stop() == 0


def exchange(port: int, request: bytes) -> bytes:
    """Send ``request``, read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def call(function_id: str, body: bytes, *, headers: bytes = b"", close: bool = True) -> bytes:
    return (
        f"POST /call/{function_id} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
        + b"Content-Type: application/json\r\n"
        + headers
        + (b"Connection: close\r\n" if close else b"")
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


def answers(raw: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """The responses in ``raw``, in order: ``(status, headers, body)``."""
    found = []
    while raw:
        head, _, raw = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = 0 if status == 100 else int(headers.get("content-length", "0"))
        found.append((status, headers, raw[:length]))
        raw = raw[length:]
    return found


def error_of(body: bytes) -> Any:
    return json.loads(body)["error"]


def still_serving(serve: ServeProcess) -> None:
    assert serve.call("stream::get", ITEM) is None  # nothing written by any refused request


@pytest.mark.parametrize(
    "content_length",
    [
        "nope",
        "\u00b2".encode().decode("latin-1"),  # superscript two: isdigit() in Python, not in HTTP
        "\u00b2",
        "9" * 5000,
        "-1",
        "1 2",
        "0x10",
    ],
)
def test_a_bad_content_length_is_a_400(serve: ServeProcess, content_length: str) -> None:
    request = (
        b"POST /call/stream::set HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: "
        + content_length.encode("latin-1")
        + b"\r\n\r\n{}"
    )
    [(status, headers, body)] = answers(exchange(serve.port, request))
    assert status == 400 and headers["connection"] == "close"
    assert error_of(body)["code"] == "bad_request"
    still_serving(serve)


def test_two_different_content_lengths_are_refused(serve: ServeProcess) -> None:
    body = json.dumps({**ITEM, "data": "smuggled"}).encode()
    for lengths in ([len(body), 2], [2, len(body)]):
        request = (
            b"POST /call/stream::set HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n"
            + b"".join(f"Content-Length: {n}\r\n".encode() for n in lengths)
            + b"\r\n"
            + body
        )
        [(status, _, _)] = answers(exchange(serve.port, request))
        assert status == 400
    still_serving(serve)


def test_a_repeated_equal_content_length_is_one(serve: ServeProcess) -> None:
    body = json.dumps(ITEM).encode()
    request = call("stream::get", body, headers=f"Content-Length: {len(body)}\r\n".encode())
    [(status, _, answer)] = answers(exchange(serve.port, request))
    assert (status, json.loads(answer)) == (200, {"result": None})


def test_chunked_bodies_are_read(serve: ServeProcess) -> None:
    body = json.dumps({**ITEM, "item_id": "chunked", "data": {"n": 1}}).encode()
    chunks = b"".join(
        f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (body[:10], body[10:])
    )
    request = (
        b"POST /call/stream::set HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks + b"0\r\n\r\n"
    )
    [(status, _, answer)] = answers(exchange(serve.port, request))
    assert status == 200
    assert json.loads(answer) == {"result": {"old_value": None, "new_value": {"n": 1}}}
    assert serve.call("stream::delete", {**ITEM, "item_id": "chunked"}) == {"old_value": {"n": 1}}


def test_bodies_over_the_limit_are_413_naming_it(serve: ServeProcess) -> None:
    declared = call("stream::set", b"x" * (LIMIT + 1))
    chunk = b"x" * 4096
    chunked = (
        b"POST /call/stream::set HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        + (f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        * (LIMIT // len(chunk) + 1)
    )
    for request in (declared, chunked):
        [(status, headers, body)] = answers(exchange(serve.port, request))
        assert status == 413 and headers["connection"] == "close"
        assert error_of(body) == {
            "code": "body_too_large",
            "message": f"the request body is over the server's limit of {LIMIT} bytes "
            "(max_body_bytes)",
        }
    stats = serve.stats()
    assert stats["oversized_requests"] >= 2
    still_serving(serve)


def test_a_refused_body_still_being_sent_does_not_cost_the_answer(serve: ServeProcess) -> None:
    # The head is refused at once; the client goes on sending 2 MiB of body. The server reads
    # and drops it (lingering) instead of closing with unread bytes, which would reset the
    # connection and could destroy the 413 before the client reads it.
    body = b"x" * (2 * 1024 * 1024)
    with socket.create_connection(("127.0.0.1", serve.port), timeout=20) as sock:
        sock.sendall(call("stream::set", body))
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    [(status, _, answer)] = answers(b"".join(chunks))
    assert status == 413 and error_of(answer)["code"] == "body_too_large"
    still_serving(serve)


def test_a_lingering_connection_is_closed_within_its_bound(serve: ServeProcess) -> None:
    # After a refusal the server reads and drops for at most LINGER_SECONDS (2 s, checked by
    # the sweep every 0.25 s), then closes, even if the client never closes its side.
    refused = call("stream::set", b"{}", headers=b"", close=False).replace(
        b"application/json", b"text/plain"
    )
    with socket.create_connection(("127.0.0.1", serve.port), timeout=20) as sock:
        sock.sendall(refused + b"more bytes, which the server drops" * 100)
        started = time.monotonic()
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        took = time.monotonic() - started
    [(status, _, _)] = answers(b"".join(chunks))
    assert status == 415
    assert took < 2.0 + 0.25 + 2.0  # the bound, the sweep's period, slack for a loaded machine


def test_a_head_over_its_limit_is_431(serve: ServeProcess) -> None:
    request = b"GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n"
    [(status, _, _)] = answers(exchange(serve.port, request))
    assert status == 431
    still_serving(serve)


def test_head_answers_without_a_body_and_the_connection_goes_on(serve: ServeProcess) -> None:
    request = (
        b"HEAD /stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        b"HEAD /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        b"GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    raw = exchange(serve.port, request)
    assert raw.count(b"HTTP/1.1 ") == 3
    first, rest = raw.split(b"\r\n\r\n", 1)
    assert rest.startswith(b"HTTP/1.1 404 ")  # no body after the HEAD answer's head
    _, rest = rest.split(b"\r\n\r\n", 1)
    assert rest.startswith(b"HTTP/1.1 200 ")
    stats = json.loads(rest.split(b"\r\n\r\n", 1)[1])
    assert int(dict(answers(first + b"\r\n\r\n")[0][1])["content-length"]) > 0
    assert isinstance(stats["http_requests"], int)


def test_pipelined_requests_are_answered_in_order(serve: ServeProcess) -> None:
    writes = [
        call(
            "stream::set", json.dumps({**ITEM, "item_id": f"p{n}", "data": n}).encode(), close=False
        )
        for n in range(20)
    ]
    reads = call("stream::list", json.dumps({"stream_name": "s", "group_id": "g"}).encode())
    found = answers(exchange(serve.port, b"".join(writes) + reads))
    assert [status for status, _, _ in found] == [200] * 21
    assert [json.loads(body)["result"]["new_value"] for _, _, body in found[:20]] == list(range(20))
    assert sorted(json.loads(found[20][2])["result"]) == list(range(20))
    for n in range(20):
        serve.call("stream::delete", {**ITEM, "item_id": f"p{n}"})


def test_thousands_of_pipelined_requests_in_one_write_are_all_answered(
    serve: ServeProcess,
) -> None:
    # Answered on the spot (a memory store), one after the other: no recursion per request.
    count = 3000
    item = {**ITEM, "item_id": "pipelined"}
    increment = json.dumps({**item, "ops": [{"type": "increment", "path": "n", "by": 1}]})
    not_found = b"GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    requests = [call("stream::update", increment.encode(), close=False) + not_found] * count
    found = answers(exchange(serve.port, b"".join(requests) + call("stream::get", b"{}")))
    assert [status for status, _, _ in found[:-1]] == [200, 404] * count
    assert [json.loads(body)["result"]["new_value"]["n"] for _, _, body in found[:-1:2]] == list(
        range(1, count + 1)
    )
    assert serve.call("stream::get", item) == {"n": count}
    serve.call("stream::delete", item)


def test_a_client_expecting_100_continue_is_told_to_go_on(serve: ServeProcess) -> None:
    body = json.dumps(ITEM).encode()
    with socket.create_connection(("127.0.0.1", serve.port), timeout=20) as sock:
        sock.sendall(
            call("stream::get", b"", headers=b"Expect: 100-continue\r\n")[:-4].replace(
                b"Content-Length: 0", f"Content-Length: {len(body)}".encode()
            )
            + b"\r\n\r\n"
        )
        assert sock.recv(25).startswith(b"HTTP/1.1 100 ")
        sock.sendall(body)
        answer = b"".join(iter(lambda: sock.recv(65536), b""))
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b'{"result":null}')


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        (b"GE\x01T /stats HTTP/1.1", 400),
        (b"GET /stats HTTP/9.9", 505),
        (b"GARBAGE", 400),
        (b"PUT /call/stream::set HTTP/1.1", 405),
        (b"GET /call/stream::set HTTP/1.1", 405),
        (b"DELETE /stats HTTP/1.1", 405),
        (b"BREW /nowhere HTTP/1.1", 404),
        (b"POST / HTTP/1.1", 426),
    ],
)
def test_bad_methods_and_request_lines(
    serve: ServeProcess, request_line: bytes, status: int
) -> None:
    raw = exchange(
        serve.port,
        request_line + b"\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    assert raw.startswith(f"HTTP/1.1 {status} ".encode()), raw[:80]
    still_serving(serve)


def test_a_header_line_h11_refuses(serve: ServeProcess) -> None:
    raw = exchange(serve.port, b"GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\nBad header\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400 ")
    still_serving(serve)


def test_a_client_that_half_closes_after_its_request_gets_the_answer(
    start_server: Callable[..., ServerThread],
) -> None:
    server = start_server()  # on Redis, the answer comes after the end of the stream
    body = json.dumps(ITEM).encode()
    with socket.create_connection(("127.0.0.1", server.server.port), timeout=20) as sock:
        sock.sendall(call("stream::get", body, close=False) * 2)
        sock.shutdown(socket.SHUT_WR)
        found = answers(b"".join(iter(lambda: sock.recv(65536), b"")))
    assert [(status, json.loads(answer)) for status, _, answer in found] == [
        (200, {"result": None}),
        (200, {"result": None}),
    ]
