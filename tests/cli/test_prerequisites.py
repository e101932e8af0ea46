"""``make test`` says what it is missing before it starts (scripts/check_prerequisites.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "scripts" / "check_prerequisites.py"


def _check(path: str, *names: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *names],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PATH": path},
    )


def test_everything_present_says_nothing() -> None:
    done = _check(os.environ["PATH"], "python", "node", "npm")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_each_missing_tool_is_one_line_with_how_to_get_it(tmp_path: Path) -> None:
    # A PATH with node but without npm, then with neither.
    node = shutil.which("node")
    assert node is not None
    (tmp_path / "node").symlink_to(node)
    done = _check(str(tmp_path), "python", "node", "npm")
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "missing prerequisite: npm is not on PATH: npm installs that client for the tests: "
        "apt-get install npm"
    ]
    done = _check(str(tmp_path / "empty"), "node", "npm")
    assert done.returncode == 1
    assert [line.split(":")[1].split()[0] for line in done.stderr.splitlines()] == ["node", "npm"]


def test_a_tool_that_does_not_run_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "node"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    done = _check(str(tmp_path), "node")
    assert done.returncode == 1
    assert done.stderr.startswith(f"missing prerequisite: node at {broken} does not run")
