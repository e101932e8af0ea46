"""Running ``iii-core`` as a user does: a subprocess, its stdout, stderr and exit status."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

COMMAND = [sys.executable, "-m", "iii_core.cli"]
# Root may read and write any file, so a permission test drops the two capabilities that allow
# it (setpriv, util-linux); any other user meets the file modes as they are.
_UNPRIVILEGED = (
    [
        "setpriv",
        "--inh-caps=-dac_override,-dac_read_search",
        "--bounding-set=-dac_override,-dac_read_search",
    ]
    if os.geteuid() == 0
    else []
)


@dataclass(frozen=True)
class Run:
    status: int
    stdout: str
    stderr: str

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()


def iii_core(*args: str, stdin: str = "", unprivileged: bool = False, timeout: float = 60) -> Run:
    """Run ``iii-core *args`` (without the power to ignore file modes if ``unprivileged``)."""
    prefix = _UNPRIVILEGED if unprivileged else []
    done = subprocess.run(
        [*prefix, *COMMAND, *args],
        input=stdin.encode(),
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode())


def assert_one_line_failure(run: Run, status: int, *fragments: str) -> str:
    """The run failed with ``status``, saying so in exactly one stderr line that contains
    every fragment, and no traceback; returns that line."""
    assert "Traceback" not in run.stderr, run.stderr
    assert len(run.stderr_lines) == 1, run.stderr
    assert run.status == status, (run.status, run.stderr)
    line = run.stderr_lines[0]
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line
