"""The one table of store functions: derived from the generated Structs and the schema order,
complete, and the generated order module is current."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import msgspec

from iii_core.store._functions import FUNCTIONS, FieldKind

ROOT = Path(__file__).resolve().parents[2]


def test_the_generated_order_module_is_current() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "codegen" / "serde_order.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_every_struct_field_is_in_the_table_in_schema_order() -> None:
    definitions = {}
    for name in ("stream.json", "state.json"):
        definitions.update(json.loads((ROOT / "schema" / name).read_text())["$defs"])
    assert len(FUNCTIONS) == 14
    for function in FUNCTIONS.values():
        struct_fields = msgspec.structs.fields(function.input)
        assert {f.encode_name for f in struct_fields} == {f.wire for f in function.fields}
        schema = definitions[function.input.__name__]
        assert [f.wire for f in function.fields] == list(schema.get("properties", {}))
        required = set(schema.get("required", []))
        for field in function.fields:
            optional = field.kind is FieldKind.OPTIONAL_STRING
            assert optional == (field.wire not in required)
        assert function.method == function.id.replace("::", "_")
    assert FUNCTIONS["stream::send"].fields[2].wire == "id"  # not last, as in the Struct
    assert FUNCTIONS["state::list"].rust_name == "StateGetGroupInput"
    assert dict(FUNCTIONS["state::set"].aliases) == {"data": "value"}
