"""codegen refuses schemas it cannot trust, before generating anything: a file that is not
strict JSON (named with its line and column), one invalid against the draft 2020-12
metaschema (an unknown ``type`` name included), and a ``$ref`` that does not resolve. Both
``generate.py`` and ``generate.py --check`` exit 2 with one line per problem, and the
generated package is left as it was. Run on temporary copies of ``schema/``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.types._schemas import ROOT

GENERATE = ROOT / "codegen" / "generate.py"


def _run(schema_dir: Path, target_dir: Path, *mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(GENERATE),
            *mode,
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


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    schema_dir = tmp_path / "schema"
    target_dir = tmp_path / "_generated"
    shutil.copytree(ROOT / "schema", schema_dir)
    target_dir.mkdir()
    (target_dir / "marker.py").write_text("KEPT = True\n", encoding="utf-8")
    return schema_dir, target_dir


def _edit(schema_dir: Path, name: str, change: Any) -> Path:
    path = schema_dir / name
    schema = json.loads(path.read_text(encoding="utf-8"))
    change(schema)
    path.write_text(json.dumps(schema, indent=2), encoding="utf-8")
    return path


def _refused(dirs: tuple[Path, Path], *expected: str) -> None:
    for mode in ((), ("--check",)):
        result = _run(*dirs, *mode)
        assert result.returncode == 2, (mode, result.stdout, result.stderr)
        for text in expected:
            assert text in result.stderr, (mode, result.stderr)
        assert "nothing generated" in result.stderr
        assert (dirs[1] / "marker.py").read_text(encoding="utf-8") == "KEPT = True\n"


def test_a_trailing_comma_is_refused_with_file_line_and_column(dirs: tuple[Path, Path]) -> None:
    path = dirs[0] / "queue.json"
    lines = path.read_text(encoding="utf-8").splitlines()
    # A trailing comma after the last member of the top-level object.
    assert lines[-1] == "}"
    lines[-2] = lines[-2] + ","
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _refused(
        dirs,
        f"{path}:{len(lines)}:1: not valid JSON: Expecting property name enclosed in double quotes",
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"a": 1, "a": 2}', "duplicate key 'a'"),
        ('{"a": NaN}', "NaN is not JSON"),
        ('{"a": 1', "1:8: not valid JSON: Expecting ',' delimiter"),
    ],
    ids=["duplicate-key", "nan", "truncated"],
)
def test_what_strict_json_refuses(dirs: tuple[Path, Path], text: str, problem: str) -> None:
    path = dirs[0] / "extra.json"
    path.write_text(text, encoding="utf-8")
    _refused(dirs, f"{path}:", problem)


def test_an_unknown_type_name_is_refused(dirs: tuple[Path, Path]) -> None:
    path = _edit(
        dirs[0],
        "queue.json",
        lambda s: s["$defs"]["EnqueueResult"]["properties"].update(extra={"type": "strin"}),
    )
    _refused(
        dirs,
        f"{path}: /$defs/EnqueueResult/properties/extra/type: unknown type name 'strin' "
        "(JSON Schema's types are array, boolean, integer, null, number, object, string)",
    )


def test_an_unknown_type_name_in_a_list_is_refused(dirs: tuple[Path, Path]) -> None:
    path = _edit(
        dirs[0],
        "queue.json",
        lambda s: s["$defs"]["EnqueueResult"]["properties"].update(
            extra={"type": ["integer", "nmber"]}
        ),
    )
    _refused(dirs, f"{path}: /$defs/EnqueueResult/properties/extra/type: unknown type name 'nmber'")


def test_a_schema_keyword_of_the_wrong_shape_is_refused(dirs: tuple[Path, Path]) -> None:
    path = _edit(dirs[0], "queue.json", lambda s: s["$defs"]["EnqueueResult"].update(required={}))
    _refused(
        dirs,
        f"{path}: /$defs/EnqueueResult/required: {{}} is not of type 'array' "
        "(not valid against the JSON Schema draft 2020-12 metaschema)",
    )


def test_another_draft_is_refused(dirs: tuple[Path, Path]) -> None:
    path = _edit(
        dirs[0],
        "queue.json",
        lambda s: s.update({"$schema": "http://json-schema.org/draft-07/schema#"}),
    )
    _refused(dirs, f'{path}: "$schema" must be "https://json-schema.org/draft/2020-12/schema"')


def test_a_dangling_ref_is_refused(dirs: tuple[Path, Path]) -> None:
    path = _edit(
        dirs[0],
        "state.json",
        lambda s: s["$defs"].update(Broken={"$ref": "stream.json#/$defs/NoSuchOp"}),
    )
    _refused(dirs, f"{path}: /$defs/Broken: $ref 'stream.json#/$defs/NoSuchOp' does not resolve")


def test_every_problem_is_listed(dirs: tuple[Path, Path]) -> None:
    queue = _edit(
        dirs[0],
        "queue.json",
        lambda s: s["$defs"]["EnqueueResult"]["properties"].update(extra={"type": "strin"}),
    )
    broken = dirs[0] / "zz.json"
    broken.write_text("{,}", encoding="utf-8")
    _refused(dirs, f"{queue}: /$defs/EnqueueResult", f"{broken}:1:2: not valid JSON")
