"""The `iii-core` command line, end to end in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import msgspec

COMMAND = [sys.executable, "-m", "iii_core.cli"]


def run(args: list[str], stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*COMMAND, *args], input=stdin, capture_output=True, timeout=120, check=False
    )


def lines(stdout: bytes) -> list[Any]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_help_documents_apply() -> None:
    top = subprocess.run([*COMMAND, "--help"], capture_output=True, text=True, check=True)
    assert "apply" in top.stdout
    assert '"new_value"' in top.stdout
    sub = subprocess.run([*COMMAND, "apply", "--help"], capture_output=True, text=True, check=True)
    assert '"old"' in sub.stdout
    assert "invalid_json" in sub.stdout


def test_good_and_bad_lines_mixed() -> None:
    requests = [
        b'{"old": {"a": 1}, "ops": [{"type": "increment", "path": "a", "by": 2}]}',
        b"this is not json",
        b'{"ops": [{"type": "increment", "path": "", "by": 5}]}',
        b'{"old": null, "ops": [{"type": "increment", "path": "", "by": 5}]}',
        b'{"old": {}, "ops": [{"type": "increment", "path": "a", "by": 1.5}]}',
        b'{"old": {}}',
        b"[1, 2]",
        b"",
        b'{"old": {"s": "x"}, "ops": [{"type": "merge", "path": "s", "value": []}]}',
        b'{"old": 1, "ops": {"type": "set"}}',
    ]
    result = run(["apply"], b"\n".join(requests) + b"\n")
    assert result.returncode == 0, result.stderr
    out = lines(result.stdout)
    assert len(out) == len(requests)
    assert out[0] == {"new_value": {"a": 3}, "errors": []}
    assert out[1]["error"]["code"] == "invalid_json"
    assert out[2] == {"new_value": 5, "errors": []}
    assert out[3]["new_value"] is None
    assert out[3]["errors"][0]["code"] == "increment.not_number"
    assert out[4]["error"] == {
        "code": "invalid_ops",
        "message": "ops[0].by: invalid type: floating point `1.5`, expected i64",
    }
    assert out[5]["error"] == {"code": "invalid_ops", "message": "missing field `ops`"}
    assert out[6]["error"]["code"] == "invalid_ops"
    assert out[7]["error"]["code"] == "invalid_json"
    assert out[8]["errors"] == [
        {
            "op_index": 0,
            "code": "merge.value.not_an_object",
            "message": "Merge value must be a JSON object",
            "doc_url": "https://iii.dev/docs/workers/iii-state#error-codes",
        }
    ]
    assert out[9]["error"]["code"] == "invalid_ops"


def test_number_kinds_survive_the_pipe() -> None:
    result = run(
        ["apply"],
        b'{"old": {"f": 2.0, "big": 18446744073709551614}, "ops": ['
        b'{"type": "increment", "path": "f", "by": 1},'
        b'{"type": "increment", "path": "big", "by": 1}]}\n',
    )
    assert result.stdout == b'{"new_value":{"f":3.0,"big":18446744073709551615},"errors":[]}\n'


def test_100000_lines_stream_through() -> None:
    n = 100_000
    payload = b"".join(
        msgspec.json.encode({"old": {"n": i}, "ops": [{"type": "increment", "path": "n", "by": 1}]})
        + b"\n"
        for i in range(n)
    )
    result = run(["apply"], payload)
    assert result.returncode == 0
    out = result.stdout.splitlines()
    assert len(out) == n
    assert out[0] == b'{"new_value":{"n":1},"errors":[]}'
    assert out[-1] == b'{"new_value":{"n":100000},"errors":[]}'


def test_answers_each_line_before_reading_the_next() -> None:
    proc = subprocess.Popen([*COMMAND, "apply"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    for i in range(3):
        proc.stdin.write(b'{"ops": [{"type": "set", "path": "i", "value": %d}]}\n' % i)
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline()) == {"new_value": {"i": i}, "errors": []}
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
