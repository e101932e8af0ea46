"""Safe by default against the browser, on a real ``iii-core serve`` process: the Origin check on
the upgrade (cross-site WebSocket hijacking), ``Content-Type: application/json`` on ``/call``
(a cross-site form or ``text/plain`` POST), the Host check on a loopback-bound server (DNS
rebinding), and the bearer token, from the command line or the environment."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.server.support import ServeProcess, join

ITEM = {"stream_name": "s", "group_id": "g", "item_id": "i"}
TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def serve() -> Iterator[ServeProcess]:
    process = ServeProcess("--allow-origin", "https://app.example", "--allow-host", "iii.internal")
    yield process
    assert process.stop() == 0


def upgrade_status(url: str, headers: dict[str, str]) -> int:
    try:
        with connect(url, open_timeout=10, additional_headers=headers) as client:
            assert join(client, "probe")["event"]["type"] == "sync"
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


def test_the_upgrade_checks_origin(serve: ServeProcess) -> None:
    own = f"http://127.0.0.1:{serve.port}"
    cases = {
        None: 101,  # no Origin: not a browser
        own: 101,  # a page this server's own address served
        "https://app.example": 101,  # listed with --allow-origin
        "HTTPS://APP.EXAMPLE/": 101,
        "https://evil.example": 403,
        "http://127.0.0.1:1": 403,  # another local app's page
        "null": 403,
    }
    for origin, status in cases.items():
        headers = {} if origin is None else {"Origin": origin}
        assert upgrade_status(serve.url, headers) == status, origin
    assert serve.stats()["refused_requests"] == 3


def test_any_origin_with_a_star() -> None:
    process = ServeProcess("--allow-origin", "*")
    try:
        assert upgrade_status(process.url, {"Origin": "https://evil.example"}) == 101
    finally:
        assert process.stop() == 0


def test_a_call_needs_a_json_content_type(serve: ServeProcess) -> None:
    body = json.dumps({**ITEM, "data": "csrf"}).encode()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {} if content_type is None else {"Content-Type": content_type}
        answer = serve.http.post("/call/state::set", content=body, headers=headers)
        assert answer.status_code == 415
        assert answer.json()["error"]["code"] == "unsupported_media_type"
    answer = serve.http.post(
        "/call/stream::get",
        content=json.dumps(ITEM).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert answer.json() == {"result": None}


def test_a_loopback_server_answers_only_its_own_host_names(serve: ServeProcess) -> None:
    for host, status in [
        ("evil.example", 403),  # a rebound DNS name
        (f"evil.example:{serve.port}", 403),
        ("localhost", 200),
        (f"127.0.0.1:{serve.port}", 200),
        ("[::1]", 200),
        ("iii.internal", 200),  # listed with --allow-host
    ]:
        answer = serve.http.get("/stats", headers={"Host": host})
        assert answer.status_code == status, host
        if status == 403:
            assert answer.json()["error"]["code"] == "host_not_allowed"
    answer = serve.http.post(
        "/call/state::set",
        json={"scope": "sc", "key": "k", "value": 1},
        headers={"Host": "evil.example"},
    )
    assert answer.status_code == 403
    assert upgrade_status(serve.url.replace("127.0.0.1", "localhost"), {}) == 101
    assert serve.call("state::get", {"scope": "sc", "key": "k"}) is None


@pytest.mark.parametrize("from_environment", [True, False])
def test_a_token_guards_calls_stats_and_the_upgrade(from_environment: bool) -> None:
    if from_environment:
        process = ServeProcess(env={"III_CORE_TOKEN": TOKEN})
    else:
        process = ServeProcess("--token", TOKEN)
    good = {"Authorization": f"Bearer {TOKEN}"}
    try:
        http = httpx.Client(base_url=f"http://127.0.0.1:{process.port}", timeout=20)
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            assert http.get("/stats", headers=headers).status_code == 401
            refused = http.post("/call/stream::list_all", json={}, headers=headers)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"] == "Bearer"
            assert refused.json()["error"]["code"] == "unauthorized"
            assert upgrade_status(process.url, headers) == 401
        assert http.get("/stats", headers=good).json()["refused_requests"] == 9
        assert http.post("/call/stream::list_all", json={}, headers=good).json() == {
            "result": {"stream": [], "count": 0}
        }
        assert upgrade_status(process.url, good) == 101
        assert http.get("/nowhere").status_code == 404  # nothing there to guard
        http.close()
    finally:
        assert process.stop() == 0
