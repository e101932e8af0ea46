"""Say what a `make` target needs and is missing, before it starts: ``check_prerequisites.py
python node npm`` prints one line per missing tool with how to get it and exits 1, or prints
nothing and exits 0.

Rules: runs under whatever ``$(PYTHON)`` is, so it keeps to syntax that Python 3.7 parses, and it
only looks (``PATH``, the interpreter's version): it installs nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

MINIMUM_PYTHON = (3, 11)
HOW = {
    "node": "Node.js runs the stream client tests (tests/server/node): apt-get install nodejs",
    "npm": "npm installs that client for the tests: apt-get install npm",
}


def missing_python() -> str | None:
    if sys.version_info[:2] >= MINIMUM_PYTHON:
        return None
    need = ".".join(map(str, MINIMUM_PYTHON))
    have = ".".join(map(str, sys.version_info[:2]))
    return f"Python {need} or later (this is {have}, {sys.executable}): set PYTHON=python{need}"


def missing_tool(name: str) -> str | None:
    path = shutil.which(name)
    if path is not None:
        try:
            subprocess.run([path, "--version"], capture_output=True, check=True, timeout=30)
            return None
        except (OSError, subprocess.SubprocessError):
            return f"{name} at {path} does not run: {HOW[name]}"
    return f"{name} is not on PATH: {HOW[name]}"


def main(names: list[str]) -> int:
    problems: list[str] = []
    for name in names:
        problem = missing_python() if name == "python" else missing_tool(name)
        if problem is not None:
            problems.append(problem)
    for problem in problems:
        print("missing prerequisite: " + problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
