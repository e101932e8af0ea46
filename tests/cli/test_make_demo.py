"""``make demo`` on a fresh copy of the clone, as a new user runs it: it makes its own
environment with iii-core and msgspec only, and prints the demo's steps."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]


def _fresh_copy(target: Path) -> None:
    """The files a clone has (tracked, plus new ones not ignored), without any environment."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def test_make_demo_on_a_fresh_clone(tmp_path: Path) -> None:
    clone = tmp_path / "iii-core"
    _fresh_copy(clone)
    environment = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    done = subprocess.run(
        ["make", "--no-print-directory", "demo"],
        cwd=clone,
        env={**environment, "COLUMNS": "100"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "creating .venv-demo with iii-core and msgspec only" in out
    assert "Successfully installed" in out  # pip's progress is shown, not hidden
    demo = out[out.index("iii-core demo:") :]
    for step in ("1. Typed wire objects", "2. The update-op engine", "3. A stream and state"):
        assert step in demo
    installed = subprocess.run(
        [
            str(clone / ".venv-demo" / "bin" / "python"),
            "-c",
            "import importlib.metadata as m, json;"
            "print(json.dumps(sorted(d.metadata['Name'].lower() for d in m.distributions())))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    names = set(json.loads(installed.stdout)) - {"pip", "setuptools"}
    assert names == {"iii-core", "msgspec"}
    # A second run reuses the environment and prints the demo alone.
    again = subprocess.run(
        ["make", "--no-print-directory", "demo"],
        cwd=clone,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert again.stdout.startswith("iii-core demo:")
