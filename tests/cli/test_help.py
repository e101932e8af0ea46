"""``iii-core --version`` and ``--help``: one version from the package metadata, a help page for
every command with examples that do what they say."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

import iii_core
from iii_core._cli_exit import EXIT_OK
from tests.cli.support import iii_core as run_iii_core

COMMANDS = ("apply", "call", "serve")


def test_version_is_the_package_metadata() -> None:
    run = run_iii_core("--version")
    assert run.status == EXIT_OK
    assert run.stdout == f"iii-core {version('iii-core')}\n"
    assert iii_core.__version__ == version("iii-core")


def test_version_matches_pyproject() -> None:
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    declared = re.search(r'^version = "([^"]+)"', pyproject, re.MULTILINE)
    assert declared is not None
    assert iii_core.__version__ == declared.group(1)


def test_top_level_help_lists_every_command_and_the_exit_statuses() -> None:
    run = run_iii_core("--help")
    assert run.status == EXIT_OK
    for command in COMMANDS:
        assert re.search(rf"^    {command} +\S", run.stdout, re.MULTILINE), command
    for status in ("0", "1", "2", "130"):
        assert re.search(rf"^  {status} +\S", run.stdout, re.MULTILINE), status


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    run = run_iii_core(command, "--help")
    assert run.status == EXIT_OK
    assert run.stdout.startswith(f"usage: iii-core {command}")
    assert "Example" in run.stdout
    assert f"| iii-core {command}" in run.stdout or f"$ iii-core {command}" in run.stdout
    assert "Exit status:" in run.stdout


def _examples(help_text: str) -> list[tuple[str, list[str]]]:
    """``(shell command, expected output lines)`` for each ``$ ...`` example of a help page."""
    examples: list[tuple[str, list[str]]] = []
    lines = iter(help_text.splitlines())
    for line in lines:
        if not line.startswith("  $ "):
            continue
        command = line[4:]
        while command.endswith("\\"):
            command = command[:-1] + next(lines).strip()
        expected: list[str] = []
        for output in lines:
            if not output.startswith("  ") or output.startswith("  $ "):
                break
            expected.append(output[2:])
        examples.append((command, expected))
    return examples


@pytest.mark.parametrize("command", [(), ("apply",), ("call",)], ids=["top", "apply", "call"])
def test_help_examples_print_what_they_say(command: tuple[str, ...], tmp_path: Path) -> None:
    # The examples run in order in one directory, as a user would paste them.
    help_text = run_iii_core(*command, "--help").stdout
    examples = _examples(help_text)
    assert examples
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    launcher = bin_dir / "iii-core"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m iii_core.cli "$@"\n')
    launcher.chmod(0o755)
    environment = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    for shell_command, expected in examples:
        done = subprocess.run(
            ["sh", "-c", shell_command],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (done.returncode, done.stderr) == (0, ""), shell_command
        assert done.stdout.splitlines() == expected, shell_command
