"""Every vector of ../shared/conformance/update-ops.json: same value (number kinds included),
same error codes, messages and doc_url, and the old value untouched."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from iii_core import MISSING, UpdateOpError, apply_update_ops, apply_update_ops_json, encode
from iii_core.stream import UpdateOp
from iii_core.update import DOC_URL, decode_update_ops
from tests.conformance.vectors import vector_file
from tests.jsonvalues import same_json, snapshot

VECTORS: list[dict[str, Any]] = json.loads(
    vector_file("update-ops.json").read_text(encoding="utf-8")
)


def _old(vector: dict[str, Any]) -> Any:
    old = vector.get("old", "__MISSING__")
    return MISSING if old == "__MISSING__" else old


def _error_rows(errors: list[UpdateOpError]) -> list[tuple[int, str, str, object]]:
    return [(e.op_index, e.code, e.message, e.doc_url) for e in errors]


def _expected_rows(vector: dict[str, Any]) -> list[tuple[int, str, str, object]]:
    return [(e["op_index"], e["code"], e["message"], DOC_URL) for e in vector["errors"]]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector_with_wire_dicts(vector: dict[str, Any]) -> None:
    old = _old(vector)
    before = snapshot(old)
    ops_before = snapshot(vector["ops"])
    new, errors = apply_update_ops(old, vector["ops"])
    assert same_json(new, vector["new"]), (new, vector["new"])
    assert _error_rows(errors) == _expected_rows(vector)
    assert same_json(old, before)
    assert same_json(vector["ops"], ops_before)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector_with_structs_and_json(vector: dict[str, Any]) -> None:
    ops = msgspec.json.decode(json.dumps(vector["ops"]), type=list[UpdateOp])
    new, errors = apply_update_ops(_old(vector), ops)
    assert same_json(new, vector["new"])
    assert _error_rows(errors) == _expected_rows(vector)

    old = _old(vector)
    new_j, errors_j = apply_update_ops_json(
        None if old is MISSING else encode(old), json.dumps(vector["ops"])
    )
    assert same_json(new_j, vector["new"])
    assert _error_rows(errors_j) == _expected_rows(vector)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector_decoded_once_then_applied(vector: dict[str, Any]) -> None:
    decoded = decode_update_ops(vector["ops"])
    assert len(decoded) == len(vector["ops"])
    for ops in (decoded, decoded.structs()):
        new, errors = apply_update_ops(_old(vector), ops)
        assert same_json(new, vector["new"])
        assert _error_rows(errors) == _expected_rows(vector)
