"""``iii-core``: the update-op engine as a JSON-lines command line, for other runtimes.

Rules: a binding, not core. It reads one JSON document per line on stdin and writes exactly one
JSON line per input line on stdout, flushed at once so that a caller can talk to it over a
pipe. It holds one line at a time (constant memory per line). A line that cannot be used is
answered with an ``error`` object and processing goes on; the exit status is 0 at end of input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import IO, Any

import msgspec

from iii_core.update import (
    MISSING,
    InvalidOps,
    InvalidUpdateJSON,
    apply_update_ops,
)

__all__ = ["apply_lines", "main"]

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


def apply_lines(lines: Iterable[bytes], out: IO[bytes]) -> int:
    """Answer every line of ``lines`` on ``out``; return how many lines were answered."""
    count = 0
    for raw in lines:
        line = raw.rstrip(b"\r\n")
        out.write(_answer(line) + b"\n")
        out.flush()
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="iii-core",
        description="iii-core command line: the iii engine's update ops over JSON lines.",
        epilog="iii-core apply\n" + _APPLY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "apply",
        help="apply update ops to values, one JSON request per stdin line",
        description=_APPLY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    args = parser.parse_args(argv)
    if args.command == "apply":
        apply_lines(sys.stdin.buffer, sys.stdout.buffer)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
