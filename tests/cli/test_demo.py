"""``make demo``'s script: it needs iii-core and msgspec alone, and every step prints its call,
its result and a comment, in aligned columns."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).parents[2] / "examples" / "demo.py"
LABEL_COLUMN = 2 + 8 + 1


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={"COLUMNS": "100", "PATH": "/usr/bin:/bin"},
    )
    assert done.stderr == ""
    return done.stdout


def test_demo_imports_nothing_beyond_iii_core_and_msgspec() -> None:
    # msgspec (with what it may import itself) first; then whatever else the demo imports.
    # tests/cli/test_packaging.py runs it where only iii-core and msgspec are installed.
    probe = (
        "import runpy, sys, msgspec, msgspec.json\n"
        "before = set(sys.modules)\n"
        f"runpy.run_path({str(DEMO)!r}, run_name='__main__')\n"
        "stdlib = sys.stdlib_module_names\n"
        "extra = {m.partition('.')[0] for m in set(sys.modules) - before}\n"
        "print('IMPORTED', sorted(m for m in extra if m not in stdlib and not m.startswith('_')))\n"
    )
    last = _run(probe).splitlines()[-1]
    assert last == "IMPORTED ['iii_core']"


def test_every_step_is_a_comment_a_call_and_its_result() -> None:
    lines = _run(f"import runpy; runpy.run_path({str(DEMO)!r}, run_name='__main__')").splitlines()
    steps: list[list[str]] = []
    for line in lines:
        if line.startswith("  # "):
            steps.append([])
        elif not line.startswith("  "):
            continue  # a section heading
        elif steps and line.strip():
            steps[-1].append(line)
    assert len(steps) >= 10
    for step in steps:
        assert step[0].startswith("  call     "), step
        assert len(step) >= 2, step
        for line in step[1:]:
            # A label in its column, or a wrapped continuation under the text's column.
            assert line[LABEL_COLUMN - 1] == " " and line[LABEL_COLUMN] != " ", line
            assert len(line) <= 100, line
