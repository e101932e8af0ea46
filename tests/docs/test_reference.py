"""docs/reference.md is generated and cannot go stale: ``codegen/reference.py --check`` passes on
the committed page and fails, with a diff, after a schema edit or a hand edit; the page covers
every function of the store and every type of every schema, and every link on it resolves."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from iii_core.store import READ_FUNCTIONS, WRITE_FUNCTIONS

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "codegen" / "reference.py"
PAGE = ROOT / "docs" / "reference.md"


def _check(schema_dir: Path, target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--check",
            "--schema-dir",
            str(schema_dir),
            "--target",
            str(target),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_committed_page_is_current() -> None:
    done = _check(ROOT / "schema", PAGE)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.endswith("matches the schemas and the store\n")


def test_a_schema_edit_is_drift(tmp_path: Path) -> None:
    schema_dir = tmp_path / "schema"
    shutil.copytree(ROOT / "schema", schema_dir)
    stream = json.loads((schema_dir / "stream.json").read_text())
    stream["$defs"]["StreamSetInput"]["properties"]["data"]["description"] = "Edited."
    (schema_dir / "stream.json").write_text(json.dumps(stream))
    target = tmp_path / "reference.md"
    shutil.copy(PAGE, target)
    done = _check(schema_dir, target)
    assert done.returncode == 1
    assert "+| `data` | any JSON | yes | Edited. |" in done.stdout
    assert "make codegen" in done.stderr
    assert target.read_bytes() == PAGE.read_bytes()  # --check writes nothing


def test_a_hand_edit_is_drift(tmp_path: Path) -> None:
    target = tmp_path / "reference.md"
    target.write_text(PAGE.read_text().replace('"new_value":{"visits":1}', '"new_value":{}', 1))
    done = _check(ROOT / "schema", target)
    assert done.returncode == 1
    assert '-{"result":{"old_value":null,"new_value":{}}}' in done.stdout


def test_every_function_and_every_type_has_a_section() -> None:
    page = PAGE.read_text()
    for function_id in READ_FUNCTIONS | WRITE_FUNCTIONS:
        assert f"### `{function_id}`" in page, function_id
        section = page.split(f"### `{function_id}`")[1].split("\n### ")[0]
        for part in ("**Input**", "**Result**", "**Errors**", '{"result":', '{"error":'):
            assert part in section, (function_id, part)
    for schema_file in (ROOT / "schema").glob("*.json"):
        for title in json.loads(schema_file.read_text())["$defs"]:
            assert f"\n### {title}\n" in page, title


def test_every_link_on_the_page_resolves() -> None:
    page = PAGE.read_text()
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', page))
    links = set(re.findall(r"\]\(#([^)]+)\)", page))
    assert links
    assert links <= anchors, links - anchors


def test_readme_links_the_reference() -> None:
    assert "(docs/reference.md)" in (ROOT / "README.md").read_text()


def _readme_shell_examples() -> list[tuple[str, list[str]]]:
    """``(command, expected output lines)`` for each ``$ iii-core apply|call`` line of the
    README's code blocks (``serve`` would start a server: the packaging tests cover it)."""
    examples: list[tuple[str, list[str]]] = []
    in_block = False
    current: list[str] | None = None
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("```"):
            in_block, current = not in_block, None
        elif in_block and line.startswith("$ "):
            current = []
            if re.match(r"\$ iii-core (apply|call)\b", line):
                examples.append((line[2:], current))
        elif in_block and current is not None:
            current.append(line)
    return examples


def test_readme_command_line_examples_print_what_they_say(tmp_path: Path) -> None:
    examples = _readme_shell_examples()
    assert len(examples) >= 2
    launcher = tmp_path / "iii-core"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m iii_core.cli "$@"\n')
    launcher.chmod(0o755)
    for command, expected in examples:
        done = subprocess.run(
            ["sh", "-c", command],
            cwd=tmp_path,
            env={"PATH": f"{tmp_path}:/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        assert (done.stdout + done.stderr).splitlines() == expected, command
