"""The server's pure rules: the browser rules of ``iii_core.server._access`` and the body values
count of ``_calls``, each against a plain reference model with hypothesis, and the cases that
matter named one by one."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iii_core.server._access import (
    host_allowed,
    is_json,
    is_loopback,
    origin_allowed,
    split_host,
    token_matches,
)
from iii_core.server._calls import values_bound

names = st.sampled_from(
    ["127.0.0.1", "127.8.9.1", "localhost", "app.localhost", "::1", "evil.com", "10.0.0.1", "h"]
)
ports = st.none() | st.integers(0, 65535)


def with_port(host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None else f"{shown}:{port}"


def reference_loopback(host: str) -> bool:
    if host in ("localhost",) or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@given(names, ports)
def test_split_host_undoes_with_port(host: str, port: int | None) -> None:
    assert split_host(with_port(host, port)) == (host, port)
    assert split_host(with_port(host, port).upper()) == (host, port)


@given(st.text(max_size=30))
def test_split_host_never_fails(value: str) -> None:
    _, port = split_host(value)
    assert port is None or 0 <= port <= 99999


@given(names)
def test_is_loopback_equals_the_reference(host: str) -> None:
    assert is_loopback(host) == reference_loopback(host)
    assert is_loopback(f"[{host}]") == reference_loopback(host)


@given(names, ports, st.sampled_from(["127.0.0.1", "::1", "0.0.0.0", "192.0.2.1"]), st.lists(names))
def test_host_allowed_equals_the_reference(
    host: str, port: int | None, bound: str, allow: list[str]
) -> None:
    header = with_port(host, port)
    want = (
        not reference_loopback(bound) or reference_loopback(host) or host == bound or host in allow
    )
    assert host_allowed(header, bound, tuple(allow)) == want
    assert host_allowed(None, bound, tuple(allow))
    assert host_allowed(header, bound, ("*",))


@given(
    st.sampled_from(["http", "https", "ws", "wss", "ftp", "null"]),
    names,
    ports,
    names,
    ports,
    st.lists(st.sampled_from(["https://app.example", "http://evil.com", "HTTP://H:1/"])),
)
def test_origin_allowed_equals_the_reference(  # noqa: PLR0917 - hypothesis passes positions
    scheme: str,
    origin_host: str,
    origin_port: int | None,
    host: str,
    port: int | None,
    allow: list[str],
) -> None:
    origin = f"{scheme}://{with_port(origin_host, origin_port)}" if scheme != "null" else "null"
    default = {"http": 80, "ws": 80, "https": 443, "wss": 443}.get(scheme)
    listed = {entry.lower().rstrip("/") for entry in allow}
    want = origin.lower() in listed or (
        default is not None
        and origin_host == host
        and (origin_port or default) == (port or default)
    )
    assert origin_allowed(origin, with_port(host, port), tuple(allow)) == want
    assert origin_allowed(origin, with_port(host, port), ("*",))
    assert origin_allowed(None, with_port(host, port), ())


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        ("http://127.0.0.1:3112", "127.0.0.1:3112", True),
        ("http://127.0.0.1:8080", "127.0.0.1:3112", False),  # another local app's page
        ("https://evil.example", "127.0.0.1:3112", False),
        ("http://localhost", "localhost:80", True),
        ("http://[::1]:3112", "[::1]:3112", True),
        ("http://127.0.0.1:99999", "127.0.0.1:3112", False),  # not a port at all
        ("null", "127.0.0.1:3112", False),  # a sandboxed page or a file
    ],
)
def test_origin_cases(origin: str, host: str, allowed: bool) -> None:
    assert origin_allowed(origin, host, ()) is allowed


@given(
    st.text(max_size=20),
    st.text(max_size=20) | st.none(),
    st.sampled_from(["Bearer", "bearer", "Basic", ""]),
)
def test_token_matches_equals_the_reference(
    token: str, given_token: str | None, scheme: str
) -> None:
    header = None if given_token is None else f"{scheme} {given_token}"
    want = (
        header is not None
        and scheme.lower() == "bearer"
        and header.strip().partition(" ")[2].strip() == token
    )
    assert token_matches(header, token) == want
    assert token_matches(header, None)


@given(
    st.sampled_from(
        ["application/json", "Application/JSON", "text/plain", "application/jsonx", ""]
    ),
    st.sampled_from(["", "; charset=utf-8", " ;x=y"]),
)
def test_is_json_equals_the_reference(media: str, parameters: str) -> None:
    assert is_json(media + parameters) == (media.lower() == "application/json")
    assert not is_json(None)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet="ab,[{"),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(alphabet="k,{"), inner),
    max_leaves=30,
)


def count_values(value: Any) -> int:
    if isinstance(value, list):
        return 1 + sum(count_values(v) for v in value)
    if isinstance(value, dict):
        return 1 + sum(count_values(v) for v in value.values())
    return 1


def structure(value: Any) -> int:
    """Commas and brackets of ``value``'s JSON outside its strings."""
    if isinstance(value, list):
        return 1 + max(len(value) - 1, 0) + sum(structure(v) for v in value)
    if isinstance(value, dict):
        return 1 + max(len(value) - 1, 0) + sum(structure(v) for v in value.values())
    return 0


@given(json_values)
def test_values_bound_counts_the_structure_and_bounds_the_values(value: Any) -> None:
    body = json.dumps(value).encode()
    in_strings = sum(
        text.count(",") + text.count("[") + text.count("{") for text in strings_of(value)
    )
    assert values_bound(body) == structure(value) + in_strings
    assert count_values(value) <= values_bound(body) + 1


def strings_of(value: Any) -> list[str]:
    if isinstance(value, list):
        return [s for v in value for s in strings_of(v)]
    if isinstance(value, dict):
        return [*value, *(s for v in value.values() for s in strings_of(v))]
    return [value] if isinstance(value, str) else []
