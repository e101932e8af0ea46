"""``iii-core``: the update-op engine and the stream/state store as JSON-lines commands, for
other runtimes.

Rules: a binding, not core. Each command reads one JSON document per line on stdin and writes
exactly one JSON line per input line on stdout, flushed at once so that a caller can talk to it
over a pipe. It holds one line at a time (constant memory per line). A line that cannot be used is
answered with an ``error`` object and processing goes on; the exit status is 0 at end of input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from functools import partial
from typing import IO, Any

import msgspec

from iii_core.backends import MemoryStore, Store
from iii_core.store import StoreCallError
from iii_core.update import (
    MISSING,
    InvalidOps,
    InvalidUpdateJSON,
    apply_update_ops,
)

__all__ = ["answer_lines", "main"]

_APPLY_HELP = """\
Apply update ops, one request per line.

Input, one JSON object per line on stdin:
  {"old": <any JSON value>, "ops": [<update op>, ...]}
The key "old" absent means the key has no stored value (not the same as "old": null).

Output, one JSON line per input line, in order:
  {"new_value": <JSON value>, "errors": [{"op_index", "code", "message", "doc_url"}, ...]}
or, for a line that cannot be used, with processing continuing on the next line:
  {"error": {"code": "invalid_json" | "invalid_ops", "message": "..."}}

Blank lines are answered like any other line that is not JSON. Exit status 0 at end of input.
"""

_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


def _error_line(code: str, message: str) -> bytes:
    return _encoder.encode({"error": {"code": code, "message": message}})


def _answer(line: bytes) -> bytes:
    try:
        request: Any = _decoder.decode(line)
    except (msgspec.DecodeError, RecursionError) as exc:
        return _error_line(InvalidUpdateJSON.code, f"line is not valid JSON: {exc}")
    if type(request) is not dict:
        return _error_line("invalid_ops", "a request must be a JSON object with an 'ops' list")
    if "ops" not in request:
        return _error_line("invalid_ops", "missing field `ops`")
    try:
        new_value, errors = apply_update_ops(request.get("old", MISSING), request["ops"])
    except InvalidOps as exc:
        return _error_line("invalid_ops", str(exc))
    try:
        return _encoder.encode({"new_value": new_value, "errors": errors})
    except RecursionError:
        return _error_line("invalid_ops", "the new value is nested too deeply to encode")


_CALL_HELP = """\
Call stream::* and state::* functions on a store, one call per line.

Input, one JSON object per line on stdin:
  {"function_id": "stream::set", "payload": {"stream_name": ..., "group_id": ..., ...}}

Output, one JSON line per input line, in order:
  {"result": <the engine's result for that function>}
or, when the call fails (nothing is changed), with processing continuing on the next line:
  {"error": {"code": "deserialization_error" | "invalid_json" | "function_not_found" | ...,
             "message": "..."}}

The store is in memory (default), durable with --data FILE (an append-only log replayed on
start), or shared on Redis with --redis URL.
"""


_SERVE_HELP = """\
Serve live stream subscriptions over WebSocket, speaking the iii engine's stream socket protocol,
and the store's calls over HTTP on the same port, until SIGINT or SIGTERM.

  ws://HOST:PORT/            join/leave a stream group or item; a sync, then every change
  POST /call/<function_id>   a JSON payload in, {"result": ...} or {"error": {"code", "message"}}
  GET /stats                 the server's counters (connections, messages, drops, ...)

The store is in memory (default), durable with --data FILE, or shared on Redis with --redis URL,
where the writes of every process reach every subscriber. A client whose unsent messages exceed
--max-buffer bytes is disconnected (it can reconnect and join again for a fresh sync).
"""


class _CallLine(msgspec.Struct):
    function_id: str
    payload: msgspec.Raw = msgspec.Raw(b"null")


_call_line = msgspec.json.Decoder(_CallLine)


def _call_answer(store: Store, line: bytes) -> bytes:
    # The payload stays JSON bytes until the store decodes it, and the result goes out as the
    # store encodes it: no value is copied on this path.
    try:
        request = _call_line.decode(line)
    except msgspec.ValidationError:
        return _error_line(
            "deserialization_error",
            "a call must be a JSON object with a string 'function_id' and a 'payload'",
        )
    except msgspec.DecodeError as exc:
        return _error_line(InvalidUpdateJSON.code, f"line is not valid JSON: {exc}")
    except RecursionError:
        return _error_line(
            "deserialization_error", "the call is nested too deeply: recursion limit exceeded"
        )
    try:
        result = store.call_json(request.function_id, request.payload)
    except StoreCallError as exc:
        return _error_line(exc.code, exc.message)
    except InvalidUpdateJSON as exc:
        return _error_line(InvalidUpdateJSON.code, str(exc))
    return b'{"result":' + result + b"}"


def answer_lines(lines: Iterable[bytes], out: IO[bytes], answer: Callable[[bytes], bytes]) -> int:
    """Write ``answer(line)`` for every line of ``lines`` on ``out``; return the count."""
    count = 0
    for raw in lines:
        out.write(answer(raw.rstrip(b"\r\n")) + b"\n")
        out.flush()
        count += 1
    return count


def _open_store(args: argparse.Namespace) -> Store:
    if args.redis is not None:
        from iii_core.backends.redis import RedisStore

        return RedisStore.from_url(args.redis)
    return MemoryStore(args.data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="iii-core",
        description="iii-core command line: the iii engine's update ops over JSON lines.",
        epilog=f"iii-core apply\n{_APPLY_HELP}\niii-core call\n{_CALL_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "apply",
        help="apply update ops to values, one JSON request per stdin line",
        description=_APPLY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    call = commands.add_parser(
        "call",
        help="call stream::*/state::* functions on a store, one JSON call per stdin line",
        description=_CALL_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = call.add_mutually_exclusive_group()
    where.add_argument("--data", metavar="FILE", help="make the embedded store durable in FILE")
    where.add_argument("--redis", metavar="URL", help="use the Redis store at URL")
    serve = commands.add_parser(
        "serve",
        help="serve live stream subscriptions over WebSocket, and store calls over HTTP",
        description=_SERVE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on, 0 for any free (default 3112)")
    serve_where = serve.add_mutually_exclusive_group()
    serve_where.add_argument("--data", metavar="FILE", help="make the embedded store durable")
    serve_where.add_argument("--redis", metavar="URL", help="use the Redis store at URL")
    serve.add_argument(
        "--max-buffer",
        type=int,
        metavar="BYTES",
        help="unsent bytes a client may fall behind by before it is dropped (default 1 MiB)",
    )
    args = parser.parse_args(argv)
    if args.command == "serve":
        from iii_core.server import serve as run_server

        given = {"host": args.host, "port": args.port, "max_buffered_bytes": args.max_buffer}
        options = {name: value for name, value in given.items() if value is not None}
        return run_server(data=args.data, redis_url=args.redis, **options)
    if args.command == "apply":
        answer_lines(sys.stdin.buffer, sys.stdout.buffer, _answer)
    else:
        store = _open_store(args)
        try:
            answer_lines(sys.stdin.buffer, sys.stdout.buffer, partial(_call_answer, store))
        finally:
            store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
