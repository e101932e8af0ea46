"""The payloads in ``examples/`` are schema-valid, decode into their types and re-encode to the
same JSON; ``examples/demo.py`` runs from any working directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from iii_core import decode, encode
from tests.jsonvalues import same_json
from tests.types._schemas import ROOT, generated, is_valid, wire_normal

EXAMPLES = ROOT / "examples"

# payload file -> (schema module, $defs name); a list payload holds items of that def.
PAYLOADS = {
    "update_ops.json": ("stream", "UpdateOp"),
    "stream_change_event.json": ("stream", "StreamChangeEvent"),
    "auth_result.json": ("worker_connection_manager", "AuthResult"),
}


@pytest.mark.parametrize("filename", sorted(PAYLOADS))
def test_example_payload_round_trips(filename: str) -> None:
    module, name = PAYLOADS[filename]
    payload = json.loads((EXAMPLES / filename).read_text(encoding="utf-8"))
    items = payload if isinstance(payload, list) else [payload]
    type_ = generated(module, name)
    for item in items:
        assert is_valid(module, name, item)
        assert same_json(
            json.loads(encode(decode(json.dumps(item), type_))), wire_normal(module, name, item)
        )


def test_update_ops_example_has_all_six_kinds() -> None:
    payload = json.loads((EXAMPLES / "update_ops.json").read_text(encoding="utf-8"))
    kinds = [op["type"] for op in payload]
    assert sorted(kinds) == sorted({"set", "merge", "increment", "decrement", "append", "remove"})


def test_demo_runs_from_another_directory(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "demo.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # Long lines wrap at spaces under their column: compare the text with whitespace collapsed.
    out = " ".join(result.stdout.split())
    assert "UpdateMerge(" in out
    assert '"streamName": "chat"' in out
    assert "allow_function_registration=True" in out
    # The update engine and the embedded store sections.
    assert '"visits": 42' in out
    assert "error 1 merge.path.proto_polluted" in out
    assert out.count('"type": "stream"') >= 5
    assert '"event": {"type": "event", "event": {"type": "typing"' in out
    assert (
        'call stream::delete {"stream_name": "chat", "group_id": "room-1", "item_id": "msg-1"}'
        in out
    )
    assert out.endswith('"old_value": null, "new_value": null}')
