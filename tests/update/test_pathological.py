"""Inputs far beyond the bounds: they give the engine's errors or results, never
RecursionError, and nothing recursive is asked of Python (comparisons use explicit stacks)."""

from __future__ import annotations

from typing import Any

from iii_core import MISSING, apply_update_ops, apply_update_ops_json, encode
from tests.jsonvalues import same_json

DEEP = 100_000


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"n": value}
    return value


def rows(errors: list[Any]) -> list[tuple[int, str, str]]:
    return [(e.op_index, e.code, e.message) for e in errors]


def test_merge_value_nested_100000_deep_reports_its_depth() -> None:
    value = nested(DEEP)
    new, errors = apply_update_ops({"a": 1}, [{"type": "merge", "value": value}])
    assert new == {"a": 1}
    assert rows(errors) == [
        (0, "merge.value.too_deep", f"Merge value JSON nesting depth {DEEP} exceeds maximum of 16")
    ]


def test_deep_values_in_set_append_and_old_are_stored_as_given() -> None:
    value = nested(DEEP)
    old: dict[str, Any] = {"deep": nested(DEEP), "list": []}
    new, errors = apply_update_ops(
        old,
        [
            {"type": "set", "path": "v", "value": value},
            {"type": "append", "path": "list", "value": value},
            {"type": "merge", "path": ["deep", "n", "n"], "value": {"x": 1}},
        ],
    )
    assert errors == []
    assert new["v"] is value
    assert new["list"][0] is value
    assert new["deep"]["n"]["n"]["x"] == 1
    assert new["deep"]["n"]["n"]["n"] is old["deep"]["n"]["n"]["n"]
    assert "x" not in old["deep"]["n"]["n"]


def test_ten_megabyte_strings() -> None:
    big = "é" * 5_000_000
    new, errors = apply_update_ops(
        {"s": "x"},
        [
            {"type": "set", "path": big, "value": 1},
            {"type": "merge", "path": ["a", big], "value": {}},
            {"type": "append", "path": "s", "value": big},
            {"type": "merge", "value": {big: 1}},
        ],
    )
    assert rows(errors) == [
        (0, "set.path.segment_too_long", "Path segment of 10000000 bytes exceeds maximum of 256"),
        (1, "merge.path.segment_too_long", "Path segment of 10000000 bytes exceeds maximum of 256"),
    ]
    assert new["s"] == "x" + big
    assert new[big] == 1


def test_path_of_10000_segments() -> None:
    path = ["__proto__"] * 10_000
    for kind, value in (("merge", {}), ("append", 1)):
        new, errors = apply_update_ops({}, [{"type": kind, "path": path, "value": value}])
        assert new == {}
        assert rows(errors) == [
            (0, f"{kind}.path.too_deep", "Path depth 10000 exceeds maximum of 32")
        ]


def test_100000_ops_on_one_item() -> None:
    n = 100_000
    ops: list[dict[str, Any]] = []
    for i in range(n):
        ops.append({"type": "increment", "path": "count", "by": 1})
        ops.append({"type": "append", "path": "text", "value": "ab"})
        ops.append({"type": "append", "path": "items", "value": i})
        ops.append({"type": "merge", "path": ["m", "n"], "value": {str(i % 7): i}})
    new, errors = apply_update_ops(MISSING, ops)
    assert errors == []
    assert new["count"] == n
    assert new["text"] == "ab" * n
    assert new["items"] == list(range(n))
    assert new["m"]["n"] == {str(k): max(i for i in range(n) if i % 7 == k) for k in range(7)}


def test_100000_failing_ops_each_reported() -> None:
    n = 100_000
    new, errors = apply_update_ops({"s": "x"}, [{"type": "increment", "path": "s", "by": 1}] * n)
    assert new == {"s": "x"}
    assert len(errors) == n
    assert errors[-1].op_index == n - 1


def test_json_entry_point_refuses_deep_documents_cleanly() -> None:
    deep_json = b"[" * DEEP + b"]" * DEEP
    for old, ops in ((deep_json, b"[]"), (b"{}", deep_json)):
        try:
            apply_update_ops_json(old, ops)
        except ValueError as exc:
            assert "not valid JSON" in str(exc)
        else:
            raise AssertionError("a 100,000-deep document was accepted")


def test_json_entry_point_with_large_documents() -> None:
    old = {f"k{i}": i for i in range(100_000)}
    new, errors = apply_update_ops_json(
        encode(old), b'[{"type":"merge","path":["a","b","c"],"value":{"x":1}}]'
    )
    assert errors == []
    assert same_json(new, {**old, "a": {"b": {"c": {"x": 1}}}})
