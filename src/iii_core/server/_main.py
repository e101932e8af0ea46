"""``iii-core serve``: its command line, and running a :class:`StreamServer` until SIGINT or
SIGTERM.

Rules: a binding. The store is the embedded ``MemoryStore`` (durable with a data file), an
``EngineDirStore`` (an iii app's own data directory, ``--engine-dir``) or an
``AsyncRedisStore`` on one Redis or a Redis Cluster, where the events of every process on that
Redis reach every subscriber (``--no-engine-channel`` and ``--replica-acks``: see
docs/deployment.md). A store that cannot be reached is one line and exit status 1.
One line on standard output announces the address once the server listens (with the port it
picked, for port 0); everything else goes to standard error through :mod:`logging`: the access
log (``iii_core.server.access``, INFO, off with ``--no-access-log``), the store becoming
unavailable and available again, the warning for a server bound beyond loopback without a
token, and one line when it stops. A bad option is one line on standard error and exit status
2; an address that cannot be bound, one line naming ``host:port`` and exit status 1. The token
comes from ``--token`` or, better (a command line is visible to every user), from the
``III_CORE_TOKEN`` environment variable. ``--max-connections`` is lowered to fit the process's
open-file limit (``ulimit -n``), keeping 192 descriptors for the store, the listener and
bursts of accepts, so that the server refuses connections itself (``503``) instead of failing
to accept them.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import resource
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from iii_core._cli_exit import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    OneLineArgumentParser,
    data_file_problem,
    report,
)
from iii_core._engine_dir_layout import ENGINE_DIR_HELP
from iii_core._extras import MissingExtra, require_extra
from iii_core._redis_options import add_redis_options, redis_store_options
from iii_core.backends import MemoryStore, Store
from iii_core.errors import IIICoreError
from iii_core.server._access import is_loopback
from iii_core.server._limits import DEFAULT_ACCESS, DEFAULT_LIMITS, Access, Limits
from iii_core.server._server import DEFAULT_HOST, DEFAULT_PORT, LISTEN_BACKLOG, StreamServer

if TYPE_CHECKING:
    from iii_core.backends.redis_async import AsyncRedisStore

__all__ = ["TOKEN_VARIABLE", "main", "serve"]

TOKEN_VARIABLE = "III_CORE_TOKEN"
DEFAULT_MAX_VALUE_BYTES = 1 << 20
# Two bursts of accepts (asyncio accepts up to the listen backlog per loop iteration, and a
# refused connection's descriptor is released an iteration later) plus what the process holds.
_SPARE_DESCRIPTORS = 2 * LISTEN_BACKLOG + 64
_PROG = "iii-core serve"
log = logging.getLogger("iii_core.server")


def _port(text: str) -> int:
    port = int(text)  # a ValueError: argparse says "invalid int value"
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"--port must be from 0 to 65535, not {text!r}")
    return port


_port.__name__ = "int"


def _positive(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__} above 0, not {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


_LIMIT_OPTIONS: tuple[tuple[str, str, str], ...] = (
    # (option, Limits field, what it bounds)
    ("--max-connections", "max_connections", "open connections; one more is answered 503"),
    ("--max-head-bytes", "max_head_bytes", "a request's line and headers (431)"),
    ("--max-body-bytes", "max_body_bytes", "a request body (413 body_too_large)"),
    ("--max-body-values", "max_body_values", "JSON values in a call's body over 64 KiB (413)"),
    ("--header-timeout", "header_timeout", "seconds for a request's headers to arrive (408)"),
    ("--body-timeout", "body_timeout", "seconds for a request's body to arrive (408)"),
    ("--idle-timeout", "idle_timeout", "seconds a kept-alive connection may wait idle"),
    ("--max-message-bytes", "max_message_bytes", "one WebSocket message from a client (1009)"),
    ("--max-buffer", "max_buffered_bytes", "a WebSocket's unsent bytes (the slow-client rule)"),
    ("--max-subscriptions", "max_subscriptions", "subscriptions on one WebSocket (1008)"),
    ("--max-name-bytes", "max_name_bytes", "a subscription id, stream, group or item name"),
)


def build_parser(description: str, epilog: str) -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(
        prog=_PROG,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (%(default)s)")
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help="port, 0 for any free (%(default)s)"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--data", metavar="FILE", help="make the embedded store durable")
    where.add_argument("--redis", metavar="URL", help="use the Redis store at URL")
    where.add_argument("--engine-dir", metavar="DIR", help=ENGINE_DIR_HELP)
    add_redis_options(parser, where)
    parser.add_argument(
        "--max-value-bytes",
        type=_positive(int),
        default=DEFAULT_MAX_VALUE_BYTES,
        metavar="BYTES",
        help="the largest state::set value, as the engine checks it (%(default)s)",
    )
    defaults = Limits()
    for option, field, what in _LIMIT_OPTIONS:
        default = getattr(defaults, field)
        parser.add_argument(
            option,
            dest=field,
            type=_positive(type(default)),
            default=default,
            metavar="SECONDS" if isinstance(default, float) else "N",
            help=f"{what} ({default})",
        )
    parser.add_argument(
        "--token", help=f"require this bearer token (or set {TOKEN_VARIABLE}; safer)"
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="an Origin a WebSocket upgrade may come from, beside the server's own (* for any)",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="a Host name a loopback-bound server answers, beside loopback ones (* for any)",
    )
    parser.add_argument(
        "--no-access-log", action="store_true", help="no line per request and per WebSocket"
    )
    parser.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        default="info",
        help="what goes to standard error (%(default)s)",
    )
    return parser


def _open_store(
    data: str | None,
    redis_url: str | None,
    redis_cluster_url: str | None,
    redis_options: Mapping[str, Any],
    *,
    max_value_bytes: int,
    engine_dir: str | None = None,
) -> Store | AsyncRedisStore:
    """The store to serve; :class:`CommandError` when it cannot be opened."""
    if engine_dir is not None:
        from iii_core.backends.engine_dir import EngineDirStore

        try:
            return EngineDirStore.from_spec(engine_dir, max_value_bytes=max_value_bytes)
        except IIICoreError as exc:  # locked, unopenable, or not a directory spec
            raise CommandError(f"{_PROG}: {exc.message}") from None
    if redis_url is not None or redis_cluster_url is not None:
        option, url = (
            ("--redis", redis_url)
            if redis_url is not None
            else ("--redis-cluster", redis_cluster_url)
        )
        require_extra("redis", f"{_PROG} {option}")
        from iii_core.backends.redis_async import AsyncRedisStore

        try:
            if redis_cluster_url is not None:
                return AsyncRedisStore.from_cluster_url(
                    redis_cluster_url, max_value_bytes=max_value_bytes, **redis_options
                )
            assert redis_url is not None
            return AsyncRedisStore.from_url(
                redis_url, max_value_bytes=max_value_bytes, **redis_options
            )
        except ValueError as exc:
            raise CommandError(
                f"{_PROG}: {option} {url!r} is not a Redis URL: {exc}", EXIT_USAGE
            ) from None
    try:
        return MemoryStore(data, max_value_bytes=max_value_bytes)
    except OSError as exc:
        assert data is not None
        problem = data_file_problem(data, exc)
        raise CommandError(f"{_PROG}: cannot open --data {data!r}: {problem}") from None
    except IIICoreError as exc:  # e.g. a data file held by another process
        # The store log names the OS error it met, maybe on a file of its own: say why in
        # terms of the path given, as for any other open failure.
        cause = exc.__cause__
        why = data_file_problem(data, cause) if data and isinstance(cause, OSError) else exc.message
        raise CommandError(f"{_PROG}: cannot open --data {data!r}: {why}") from None
    except Exception as exc:
        # Replaying a file that is not a store log can fail in any way its content leads to.
        raise CommandError(
            f"{_PROG}: cannot open --data {data!r}: it is not a store log "
            f"({type(exc).__name__}: {exc})"
        ) from None


def _fit_descriptors(limits: Limits) -> Limits:
    """``limits`` with ``max_connections`` lowered to what ``ulimit -n`` lets the process open."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or limits.max_connections <= soft - _SPARE_DESCRIPTORS:
        return limits
    fitted = max(1, soft - _SPARE_DESCRIPTORS)
    log.warning(
        "max connections lowered from %d to %d to fit the open-file limit (ulimit -n %d)",
        limits.max_connections,
        fitted,
        soft,
    )
    return dataclasses.replace(limits, max_connections=fitted)


async def _serve(
    host: str,
    port: int,
    store: Store | AsyncRedisStore,
    limits: Limits,
    access: Access,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    try:
        server = StreamServer(store, host=host, port=port, limits=limits, access=access)
        async with server:
            where = f"{server.host}:{server.port}"
            print(
                f"iii-core serve: listening on {where} "
                f"(WebSocket ws://{where}/, calls POST http://{where}/call/<function_id>)",
                flush=True,
            )
            if access.token is None and not is_loopback(host):
                log.warning(
                    "listening on %s with no token: anyone who can reach it can read and write "
                    "the store (set %s or --token)",
                    host,
                    TOKEN_VARIABLE,
                )
            await stop.wait()
            stats = server.stats()
        log.warning(
            "stopped: %d WebSocket connections closed, %d HTTP requests answered",
            stats.connections,
            stats.http_requests,
        )
    finally:
        await store.as_async().close()


def serve(
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    data: str | None = None,
    redis_url: str | None = None,
    engine_dir: str | None = None,
    redis_cluster_url: str | None = None,
    redis_options: Mapping[str, Any] | None = None,
    max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
    limits: Limits = DEFAULT_LIMITS,
    access: Access = DEFAULT_ACCESS,
) -> int:
    """Serve until SIGINT or SIGTERM; returns the exit status (``EXIT_FAILED`` when the store
    cannot be opened or the address bound, ``EXIT_USAGE`` for a malformed Redis URL), having
    said why in one line on standard error. ``redis_options``: keyword arguments of the Redis
    store (``engine_channel``, ``replica_acks``)."""

    async def run() -> None:
        # Opened on the loop: a Redis Cluster client asks the cluster for its map there.
        store = _open_store(
            data,
            redis_url,
            redis_cluster_url,
            redis_options or {},
            max_value_bytes=max_value_bytes,
            engine_dir=engine_dir,
        )
        await _serve(host, port, store, _fit_descriptors(limits), access)

    try:
        asyncio.run(run())
    except MissingExtra as exc:
        return report(exc.message, EXIT_FAILED)
    except CommandError as exc:
        return report(exc.message, exc.status)
    except OSError as exc:
        return report(f"{_PROG}: {exc}", EXIT_FAILED)
    except IIICoreError as exc:  # the store cannot be reached (STORE_UNAVAILABLE)
        return report(f"{_PROG}: {exc.message}", EXIT_FAILED)
    return EXIT_OK


def _configure_logging(level: str, access_log: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger("iii_core")
    root.addHandler(handler)
    root.setLevel(level.upper())
    if not access_log:
        logging.getLogger("iii_core.server.access").setLevel(logging.WARNING)


def main(argv: Sequence[str], *, description: str, epilog: str) -> int:
    """``iii-core serve [options]``, with the command's help text; returns the exit status."""
    args = build_parser(description, epilog).parse_args(argv)
    _configure_logging(args.log_level, not args.no_access_log)
    limits = Limits(**{field: getattr(args, field) for _, field, _ in _LIMIT_OPTIONS})
    access = Access(
        token=args.token or os.environ.get(TOKEN_VARIABLE) or None,
        allow_origins=tuple(args.allow_origin),
        allow_hosts=tuple(args.allow_host),
    )
    return serve(
        host=args.host,
        port=args.port,
        data=args.data,
        redis_url=args.redis,
        engine_dir=args.engine_dir,
        redis_cluster_url=args.redis_cluster,
        redis_options=redis_store_options(args),
        max_value_bytes=args.max_value_bytes,
        limits=limits,
        access=access,
    )
