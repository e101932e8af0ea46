"""The codegen drift check itself, on a temporary copy of ``schema/`` and the generated package:
it passes on the committed state, and fails (exit 1, with a diff) after a schema edit and after
a hand edit of a generated file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.types._schemas import ROOT

GENERATE = ROOT / "codegen" / "generate.py"


def _check(schema_dir: Path, target_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(GENERATE),
            "--check",
            "--schema-dir",
            str(schema_dir),
            "--target-dir",
            str(target_dir),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _copy(tmp_path: Path) -> tuple[Path, Path]:
    schema_dir = tmp_path / "schema"
    target_dir = tmp_path / "_generated"
    shutil.copytree(ROOT / "schema", schema_dir)
    shutil.copytree(
        ROOT / "src" / "iii_core" / "_generated",
        target_dir,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return schema_dir, target_dir


def test_check_passes_on_the_committed_code(tmp_path: Path) -> None:
    result = _check(*_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "matches" in result.stdout


def test_check_fails_after_a_schema_edit(tmp_path: Path) -> None:
    schema_dir, target_dir = _copy(tmp_path)
    path = schema_dir / "queue.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["$defs"]["EnqueueResult"]["properties"]["queueName"] = {"type": "string"}
    path.write_text(json.dumps(schema, indent=2), encoding="utf-8")
    result = _check(schema_dir, target_dir)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "+    queue_name: str | UnsetType" in result.stdout
    assert "codegen drift" in result.stderr


def test_check_fails_after_a_hand_edit_of_generated_code(tmp_path: Path) -> None:
    schema_dir, target_dir = _copy(tmp_path)
    path = target_dir / "stream.py"
    text = path.read_text(encoding="utf-8")
    edited = text.replace("    by: Annotated[int,", "    by: Annotated[float,", 1)
    assert edited != text
    path.write_text(edited, encoding="utf-8")
    result = _check(schema_dir, target_dir)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "-    by: Annotated[float," in result.stdout


def test_check_fails_on_a_stray_generated_file(tmp_path: Path) -> None:
    schema_dir, target_dir = _copy(tmp_path)
    (target_dir / "extra.py").write_text("X = 1\n", encoding="utf-8")
    result = _check(schema_dir, target_dir)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "committed/extra.py" in result.stdout
