"""``iii-core``: the iii engine's update ops, its stream/state store and its live subscriptions,
as commands for other runtimes and for a shell.

- ``iii-core apply``: update ops over JSON lines (stdin to stdout);
- ``iii-core call``: ``stream::*``/``state::*`` calls on a store over JSON lines;
- ``iii-core serve``: the stream WebSocket protocol and ``POST /call/<function_id>``;
- ``iii-core --version``, and ``iii-core COMMAND --help`` for each command, with examples.

Rules: a binding, not core. ``apply`` and ``call`` read one JSON document per line on stdin and
write exactly one JSON line per input line on stdout, flushed at once so that a caller can talk
to them over a pipe; they hold one line at a time (constant memory per line). A line that cannot
be used is answered with an ``error`` object and processing goes on. A failure of the command
itself (a bad option, a data file that cannot be opened, a missing extra) is one line on stderr
and an exit status from :mod:`iii_core._cli_exit`, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable
from functools import partial
from typing import IO, TYPE_CHECKING, Any

import msgspec

from iii_core import _json
from iii_core._cli_exit import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    OneLineArgumentParser,
    data_file_problem,
    report,
)
from iii_core._copy import add_copy_command
from iii_core._engine_dir_layout import ENGINE_DIR_HELP
from iii_core._extras import MissingExtra, require_extra
from iii_core._redis_options import add_redis_options, redis_store_options
from iii_core.errors import ErrorCode
from iii_core.store import StoreCallError
from iii_core.update import (
    MISSING,
    InvalidOps,
    InvalidUpdateJSON,
    apply_update_ops,
)

if TYPE_CHECKING:
    from iii_core.backends import Store

__all__ = ["answer_lines", "main"]

_APPLY_HELP = """\
Apply update ops, one request per line.

Input, one JSON object per line on stdin:
  {"old": <any JSON value>, "ops": [<update op>, ...]}
The key "old" absent means the key has no stored value (not the same as "old": null).
Numbers are read as the engine's serde_json reads them: -0 is the float -0.0, an integer
beyond the u64 range is a float, and containers nest at most 127 deep.

Output, one JSON line per input line, in order:
  {"new_value": <JSON value>, "errors": [{"op_index", "code", "message", "doc_url"}, ...]}
or, for a line that cannot be used, with processing continuing on the next line:
  {"error": {"code": "invalid_json" | "invalid_ops", "message": "..."}}

Blank lines are answered like any other line that is not JSON. Exit status 0 at end of input.

Example:
  $ echo '{"old": {"n": 1}, "ops": [{"type": "increment", "path": "n", "by": 2}]}' \\
      | iii-core apply
  {"new_value":{"n":3},"errors":[]}
"""

_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


def _error_line(code: str, message: str) -> bytes:
    return _encoder.encode({"error": {"code": code, "message": message}})


def _answer(line: bytes) -> bytes:
    try:
        # serde_json's number rules, as the engine reads a request (iii_core._json).
        request: Any = _json.loads(line)
    except msgspec.DecodeError as exc:
        return _error_line(ErrorCode.INVALID_JSON, f"line is not valid JSON: {exc}")
    if type(request) is not dict:
        return _error_line(
            ErrorCode.INVALID_OPS, "a request must be a JSON object with an 'ops' list"
        )
    if "ops" not in request:
        return _error_line(ErrorCode.INVALID_OPS, "missing field `ops`")
    try:
        new_value, errors = apply_update_ops(request.get("old", MISSING), request["ops"])
    except InvalidOps as exc:
        return _error_line(ErrorCode.INVALID_OPS, exc.message)
    try:
        return _encoder.encode({"new_value": new_value, "errors": errors})
    except RecursionError:
        return _error_line(ErrorCode.INVALID_OPS, "the new value is nested too deeply to encode")


_CALL_HELP = """\
Call stream::* and state::* functions on a store, one call per line.

Input, one JSON object per line on stdin:
  {"function_id": "stream::set", "payload": {"stream_name": ..., "group_id": ..., ...}}

Output, one JSON line per input line, in order:
  {"result": <the engine's result for that function>}
or, when the call fails (nothing is changed), with processing continuing on the next line:
  {"error": {"code": "deserialization_error" | "invalid_json" | "function_not_found" | ...,
             "message": "..."}}
An unknown function id is such a line ("function_not_found"), not a failure of the command.
Every function, its payload, result and errors: docs/reference.md in the source repository.

The store is in memory (default), durable with --data FILE (an append-only log replayed on
start; FILE is created if missing, its directory must exist), shared on Redis with
--redis URL (redis://HOST:PORT/DB, rediss://... or unix://PATH; needs the 'redis' extra) or on
a Redis Cluster with --redis-cluster URL (any node; on Redis, --no-engine-channel and
--replica-acks N: see docs/deployment.md), or an iii app's own data with --engine-dir DIR (the
engine's file-based kv directories; stop the engine first: docs/engine-dir.md).

Examples:
  $ echo '{"function_id": "state::set", "payload": {"scope": "s", "key": "k", "value": 1}}' \\
      | iii-core call --data store.log
  {"result":{"old_value":null,"new_value":1}}
  $ echo '{"function_id": "state::get", "payload": {"scope": "s", "key": "k"}}' \\
      | iii-core call --data store.log
  {"result":1}
"""


_SERVE_HELP = """\
Serve live stream subscriptions over WebSocket, speaking the iii engine's stream socket protocol,
and the store's calls over HTTP on the same port, until SIGINT or SIGTERM. Needs the 'serve'
extra.

  ws://HOST:PORT/            join/leave a stream group or item; a sync, then every change
  POST /call/<function_id>   a JSON payload in, {"result": ...} or {"error": {"code", "message"}}
  GET /stats                 the server's counters (connections, messages, drops, ...)

The store is in memory (default), durable with --data FILE, an iii app's own data with
--engine-dir DIR, or shared on Redis with --redis URL or on a Redis Cluster with
--redis-cluster URL (any node), where the writes of every process reach every subscriber; each
process listens only to the groups its clients joined, and an iii engine on the same Redis
sees iii-core's writes and iii-core its (unless --no-engine-channel).
A client whose unsent bytes are over --max-buffer when a new message comes is disconnected (it
can reconnect and join again for a fresh sync). A call needs Content-Type: application/json.
With a token (--token, or the III_CORE_TOKEN environment variable), /call, /stats and the
upgrade need "Authorization: Bearer <token>". Every limit below has a default;
docs/websocket.md has every rule.

Example:
  $ iii-core serve --port 3112 --data store.log &
  $ curl -s -H 'Content-Type: application/json' \\
      -d '{"stream_name": "chat", "group_id": "room", "item_id": "m1", "data": {"n": 1}}' \\
      http://127.0.0.1:3112/call/stream::set
  {"result":{"old_value":null,"new_value":{"n":1}}}
"""

_EXIT_STATUSES = """\
Exit status:
  0    done: apply/call reached the end of their input (a line that cannot be used is
       answered on stdout with an "error" object), serve stopped on SIGINT or SIGTERM,
       copy copied everything
  1    the command could not do its work: a data file that cannot be opened or is corrupt,
       an address in use, a missing extra, a copy that could not finish; one line on stderr
       says why
  2    the command line is wrong (unknown option, malformed URL or port); one line on stderr
  130  interrupted by Ctrl-C while reading input
"""


_OVERVIEW = """\
The iii engine's update ops and stream/state store over JSON lines, and its live stream
subscriptions over WebSocket. 'iii-core COMMAND --help' documents each command, with examples;
docs/reference.md in the source repository documents every function of the store.
"""

_OVERVIEW_EXAMPLE = """\
Example:
  $ echo '{"old": {"n": 1}, "ops": [{"type": "increment", "path": "n", "by": 2}]}' \\
      | iii-core apply
  {"new_value":{"n":3},"errors":[]}

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
            ErrorCode.DESERIALIZATION_ERROR,
            "a call must be a JSON object with a string 'function_id' and a 'payload'",
        )
    except msgspec.DecodeError as exc:
        return _error_line(ErrorCode.INVALID_JSON, f"line is not valid JSON: {exc}")
    except RecursionError:
        return _error_line(
            ErrorCode.DESERIALIZATION_ERROR,
            "the call is nested too deeply: recursion limit exceeded",
        )
    try:
        result = store.call_json(request.function_id, request.payload)
    except StoreCallError as exc:
        return _error_line(exc.code, exc.message)
    except InvalidUpdateJSON as exc:
        return _error_line(ErrorCode.INVALID_JSON, exc.message)
    return b'{"result":' + result + b"}"


def answer_lines(lines: Iterable[bytes], out: IO[bytes], answer: Callable[[bytes], bytes]) -> int:
    """Write ``answer(line)`` for every line of ``lines`` on ``out``; return the count."""
    count = 0
    for raw in lines:
        out.write(answer(raw.rstrip(b"\r\n")) + b"\n")
        out.flush()
        count += 1
    return count


def _open_store(command: str, args: argparse.Namespace) -> Store:
    """The store ``call`` uses; :class:`CommandError` when it cannot be opened."""
    if args.engine_dir is not None:
        from iii_core.backends.engine_dir import EngineDirStore

        try:
            return EngineDirStore.from_spec(args.engine_dir)
        except StoreCallError as exc:  # locked, unopenable, or not a directory spec
            raise CommandError(f"iii-core {command}: {exc.message}") from None
    if args.redis is not None or args.redis_cluster is not None:
        option, url = (
            ("--redis", args.redis)
            if args.redis is not None
            else ("--redis-cluster", args.redis_cluster)
        )
        require_extra("redis", f"iii-core {command} {option}")
        from iii_core.backends.redis import RedisStore

        try:
            if args.redis_cluster is not None:
                return RedisStore.from_cluster_url(url, **redis_store_options(args))
            return RedisStore.from_url(url, **redis_store_options(args))
        except ValueError as exc:
            raise CommandError(
                f"iii-core {command}: {option} {url!r} is not a Redis URL: {exc}",
                EXIT_USAGE,
            ) from None
        except Exception as exc:  # a cluster client asks the cluster for its map at once
            raise CommandError(f"iii-core {command}: {option} {url!r}: {exc}") from None
    from iii_core.backends import MemoryStore  # asyncio and the stores: not for `apply`

    try:
        return MemoryStore(args.data)
    except OSError as exc:
        problem = data_file_problem(args.data, exc)
        raise CommandError(
            f"iii-core {command}: cannot open --data {args.data!r}: {problem}"
        ) from None
    except StoreCallError as exc:  # e.g. a data file held by another process
        # The log names the OS error it met on a file of its own (a lock or compaction file):
        # say why in terms of the path the user typed, as for any other open failure.
        cause = exc.__cause__
        why = data_file_problem(args.data, cause) if isinstance(cause, OSError) else exc.message
        raise CommandError(f"iii-core {command}: cannot open --data {args.data!r}: {why}") from None
    except Exception as exc:
        # Replaying a file that is not a store log can fail in any way the file's content
        # leads the replay to; the user needs to know which file and that it is not a log.
        raise CommandError(
            f"iii-core {command}: cannot open --data {args.data!r}: it is not a store log "
            f"({type(exc).__name__}: {exc})"
        ) from None


def _run_apply(args: argparse.Namespace) -> int:
    answer_lines(sys.stdin.buffer, sys.stdout.buffer, _answer)
    return EXIT_OK


def _run_call(args: argparse.Namespace) -> int:
    store = _open_store("call", args)
    try:
        answer_lines(sys.stdin.buffer, sys.stdout.buffer, partial(_call_answer, store))
    finally:
        store.close()
    return EXIT_OK


def _run_serve(args: argparse.Namespace) -> int:
    require_extra("serve", "iii-core serve")
    from iii_core.server import main as serve_main

    # Its options, help included, are iii_core.server's (every limit of the server is one).
    return serve_main(args.options, description=_SERVE_HELP, epilog=_EXIT_STATUSES)


def _subcommand(
    commands: Any,
    name: str,
    summary: str,
    description: str,
    run: Callable[[argparse.Namespace], int],
    *,
    own_options: bool = False,
) -> argparse.ArgumentParser:
    """A command; with ``own_options``, its arguments (``--help`` too) are handed to ``run``
    as ``args.options``, unparsed."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog=_EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=not own_options,
    )
    parser.set_defaults(run=run)
    return parser


def _store_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--data",
        metavar="FILE",
        help="make the embedded store durable in FILE (an append-only log)",
    )
    where.add_argument(
        "--redis", metavar="URL", help="use the Redis store at URL, e.g. redis://127.0.0.1:6379/0"
    )
    where.add_argument("--engine-dir", metavar="DIR", help=ENGINE_DIR_HELP)
    add_redis_options(parser, where)


class _Version(argparse.Action):
    """``--version``, reading the version only when asked: importlib.metadata costs every other
    command (``apply`` above all) a noticeable part of its start-up."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from iii_core import __version__

        sys.stdout.write(f"iii-core {__version__}\n")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The ``iii-core`` command line: each command is one ``_subcommand`` with its options."""
    parser = OneLineArgumentParser(
        prog="iii-core",
        description=_OVERVIEW,
        epilog=_OVERVIEW_EXAMPLE + _EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_Version, help="show program's version number and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _subcommand(
        commands,
        "apply",
        "apply update ops to values, one JSON request per stdin line",
        _APPLY_HELP,
        _run_apply,
    )
    call = _subcommand(
        commands,
        "call",
        "call stream::*/state::* functions on a store, one JSON call per stdin line",
        _CALL_HELP,
        _run_call,
    )
    _store_options(call)
    _subcommand(
        commands,
        "serve",
        "serve live stream subscriptions over WebSocket, and store calls over HTTP",
        _SERVE_HELP,
        _run_serve,
        own_options=True,
    )
    add_copy_command(commands, epilog=_EXIT_STATUSES)
    return parser


def _handle_pending_signals() -> None:
    """Nothing: entering a Python function makes the interpreter run the handlers of signals
    that arrived meanwhile, so a Ctrl-C that came with the end of input is a KeyboardInterrupt
    inside ``main``'s ``try``, not a traceback after ``main`` returned."""


def main(argv: list[str] | None = None) -> int:
    """Run ``iii-core``; return its exit status (see ``_EXIT_STATUSES``)."""
    parser = build_parser()
    args, options = parser.parse_known_args(argv)
    if options and args.command != "serve":
        parser.error(f"unrecognized arguments: {' '.join(options)}")
    args.options = options
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        status = run(args)
        _handle_pending_signals()
        return status
    except MissingExtra as exc:
        return report(exc.message, EXIT_FAILED)
    except CommandError as exc:
        return report(exc.message, exc.status)
    except KeyboardInterrupt:
        return report(f"iii-core {args.command}: interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:
        # The reader of stdout went away (``| head``): nothing more can be said there, and
        # Python's flush at exit must not fail again on it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
