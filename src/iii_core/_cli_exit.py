"""How an ``iii-core`` command ends: its exit status, and one line on stderr when it fails.

Rules: a binding helper shared by :mod:`iii_core.cli` and :mod:`iii_core.server` (``serve``):
:func:`report` writes the line, :class:`CommandError` carries it to the command's top level,
:class:`OneLineArgumentParser` makes usage errors one line, :func:`data_file_problem` says why
a ``--data`` file cannot be opened in terms of the path the user typed.
A failure the user can act on is one line, ``iii-core <command>: <what is wrong>``, never a
traceback; its exit status is one of the documented few below (``iii-core --help`` lists them):

- ``EXIT_OK`` (0): the command did its work (``apply``/``call`` reached the end of their input;
  ``serve`` stopped on SIGINT or SIGTERM). A JSON line that cannot be used is answered on stdout
  with an ``error`` object and is not a failure of the command.
- ``EXIT_FAILED`` (1): the command could not do its work: a data file that cannot be opened or
  is corrupt, an address already in use, a missing extra.
- ``EXIT_USAGE`` (2): the command line is wrong: an unknown command or option, a malformed
  value (a URL that is not a Redis URL, a port outside 0-65535).
- ``EXIT_INTERRUPTED`` (130): stopped by Ctrl-C (SIGINT) while reading its input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO, Final, NoReturn

from iii_core.errors import ErrorCode, IIICoreError

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CommandError",
    "OneLineArgumentParser",
    "data_file_problem",
    "one_line",
    "report",
]

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130  # 128 + SIGINT, as shells report it


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) as one space."""
    return " ".join(text.split())


def report(line: str, status: int, stream: IO[str] | None = None) -> int:
    """Write ``line`` as one line on stderr (or ``stream``); return ``status``."""
    out = sys.stderr if stream is None else stream
    out.write(one_line(line) + "\n")
    out.flush()
    return status


def data_file_problem(path: str, exc: OSError) -> str:
    """Why the data file the user named (``--data``) cannot be opened, in terms of that path:
    the store may have failed on a file of its own beside it, such as a compaction file, which
    the user never typed."""
    target = Path(path)
    parent = target.parent
    if target.is_dir():
        return "it is a directory; give the path of a file (created if missing)"
    if not parent.exists():
        return f"the directory {str(parent)!r} does not exist"
    if not parent.is_dir():
        return f"{str(parent)!r} is not a directory"
    if isinstance(exc, PermissionError):
        return "permission denied: the file must be readable and writable, its directory writable"
    return exc.strerror or str(exc)


class CommandError(IIICoreError):
    """A failure the command reports as one line (``error.message``) with ``status``."""

    code = ErrorCode.COMMAND_FAILED

    def __init__(self, line: str, status: int = EXIT_FAILED) -> None:
        super().__init__(line)
        self.status = status


class OneLineArgumentParser(argparse.ArgumentParser):
    """``argparse`` whose usage errors are one line and exit ``EXIT_USAGE``, pointing at
    ``--help`` instead of printing the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, one_line(f"{self.prog}: {message} (see '{self.prog} --help')") + "\n")
