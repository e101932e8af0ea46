"""Who may talk to the server: the rules that keep a web page from using it, as pure functions.

Rules (iii-core's; the engine has none of them):

- **Host** (DNS rebinding): when the server is bound to a loopback address, a request's ``Host``
  must name a loopback address (``127.0.0.0/8``, ``::1``, ``localhost``), the bound host, or an
  ``allow_hosts`` entry (``*`` allows any); the port is not compared. A request without ``Host``
  passes (HTTP/1.0 clients; a browser always sends one). Bound elsewhere, no Host check.
- **Origin** (cross-site WebSocket hijacking): an upgrade passes with no ``Origin`` header, or
  one whose ``host:port`` is the request's ``Host`` (a page served from this server's own
  address; default ports by scheme), or one listed in ``allow_origins`` (compared
  case-insensitively, without a trailing ``/``; ``*`` allows any).
- **Token**: with a token set, ``/call``, ``/stats`` and the upgrade need
  ``Authorization: Bearer <token>``, compared in constant time (``hmac.compare_digest``).
- **Content type**: ``/call`` needs ``Content-Type: application/json`` (parameters such as
  ``charset`` allowed), which a cross-site form or ``text/plain`` POST cannot send without a
  CORS preflight that this server never grants.

Pure: no I/O; inputs are header values as decoded strings (``None`` when absent).
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
from collections.abc import Collection
from urllib.parse import urlsplit

__all__ = [
    "host_allowed",
    "is_json",
    "is_loopback",
    "origin_allowed",
    "split_host",
    "token_matches",
]

_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


_MAX_HOST_CHARACTERS = 255  # a DNS name's limit; anything longer is no loopback name


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 possibly in brackets) is a loopback one."""
    return len(host) <= _MAX_HOST_CHARACTERS and _is_loopback(host)


@functools.lru_cache(maxsize=1024)  # Host is parsed per request; the cache holds short names
def _is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def split_host(value: str) -> tuple[str, int | None]:
    """``host[:port]`` (``[v6]:port`` for IPv6) as ``(lowercased host, port or None)``; the
    host keeps no brackets. A port that is not a number counts as none."""
    value = value.strip().lower()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    else:
        host, port = value, ""
    return host, int(port) if port.isascii() and port.isdigit() and len(port) <= 5 else None


def host_allowed(host_header: str | None, bound_host: str, allow_hosts: Collection[str]) -> bool:
    """The Host rule above."""
    if host_header is None or not is_loopback(bound_host) or "*" in allow_hosts:
        return True
    host, _ = split_host(host_header)
    allowed = {split_host(entry)[0] for entry in allow_hosts}
    return is_loopback(host) or host == split_host(bound_host)[0] or host in allowed


def origin_allowed(
    origin: str | None, host_header: str | None, allow_origins: Collection[str]
) -> bool:
    """The Origin rule above."""
    if origin is None or "*" in allow_origins:
        return True
    wanted = origin.strip().lower().rstrip("/")
    if wanted in {entry.strip().lower().rstrip("/") for entry in allow_origins}:
        return True
    if host_header is None:
        return False
    try:
        parts = urlsplit(wanted)
        origin_port = parts.port
    except ValueError:
        return False
    if not parts.hostname or parts.scheme not in _DEFAULT_PORTS:
        return False
    host, port = split_host(host_header)
    default = _DEFAULT_PORTS[parts.scheme]
    return parts.hostname == host and (origin_port or default) == (port or default)


def token_matches(authorization: str | None, token: str | None) -> bool:
    """Whether ``Authorization`` carries ``token`` as a bearer token (always, when no token is
    set). Constant time in the compared value."""
    if token is None:
        return True
    scheme, _, given = (authorization or "").strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def is_json(content_type: str | None) -> bool:
    """Whether ``Content-Type`` is ``application/json`` (any parameters)."""
    if content_type is None:
        return False
    return content_type.partition(";")[0].strip().lower() == "application/json"
