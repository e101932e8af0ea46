"""A deliberately simple model of the engine's update ops: deepcopy, then mutate in place.

Slow and obvious on purpose; it shares no code with iii_core. It assumes the ops are already
well-formed wire dicts and values small enough for recursion.
"""

from __future__ import annotations

import copy
from typing import Any

SINKS = ["__proto__", "constructor", "prototype"]
MISSING_KEY = object()


def type_name(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def depth(v: Any) -> int:
    if isinstance(v, dict):
        return 1 + max([depth(c) for c in v.values()], default=0)
    if isinstance(v, list):
        return 1 + max([depth(c) for c in v], default=0)
    return 0


def arithmetic(v: Any, by: int) -> Any:
    """None when the engine reports not_number for this number."""
    if isinstance(v, int) and -(2**63) <= v < 2**64:
        r = v + by
        if v < 2**63 and -(2**63) <= r < 2**63:
            return r
        if v >= 0 and 0 <= r < 2**64:
            return r
        return None
    return float(v) + float(by)


def path_problem(segments: list[str]) -> tuple[str, str] | None:
    if len(segments) > 32:
        return "path.too_deep", f"Path depth {len(segments)} exceeds maximum of 32"
    for s in segments:
        if s == "":
            return "path.empty_segment", "Path contains an empty segment"
        n = len(s.encode("utf-8", "surrogatepass"))
        if n > 256:
            return "path.segment_too_long", f"Path segment of {n} bytes exceeds maximum of 256"
        if s in SINKS:
            return (
                "path.proto_polluted",
                f"Path segment '{s}' is not allowed (prototype pollution).",
            )
    return None


def apply(
    old: Any, ops: list[dict[str, Any]], missing: bool
) -> tuple[Any, list[tuple[int, str, str]]]:
    doc: Any = {} if missing else copy.deepcopy(old)
    errors: list[tuple[int, str, str]] = []

    for i, op in enumerate(ops):
        t = op["type"]

        def fail(code: str, msg: str, i: int = i, t: str = t) -> None:
            errors.append((i, f"{t}.{code}", msg))

        if t in ("merge", "append"):
            raw = op.get("path")
            segs = [] if raw in (None, "", []) else ([raw] if isinstance(raw, str) else list(raw))
        else:
            segs = [] if op["path"] == "" else [op["path"]]
        problem = path_problem(segs)
        if problem:
            fail(*problem)
            continue
        value = copy.deepcopy(op.get("value"))

        if t == "set":
            if not segs:
                doc = value
            elif isinstance(doc, dict):
                doc[segs[0]] = value
            else:
                fail(
                    "target_not_object",
                    f"Cannot set at path '{segs[0]}': target is {type_name(doc)}, expected object.",
                )
                continue
            missing = False

        elif t == "remove":
            if not segs:
                doc = None
            elif isinstance(doc, dict):
                doc.pop(segs[0], None)
            else:
                fail(
                    "target_not_object",
                    f"Cannot remove at path '{segs[0]}': target is {type_name(doc)}, expected object.",
                )
                continue
            missing = False

        elif t in ("increment", "decrement"):
            by = op["by"] if t == "increment" else -op["by"]
            if not segs:
                if missing:
                    doc = by
                elif (
                    isinstance(doc, (int, float))
                    and not isinstance(doc, bool)
                    and arithmetic(doc, by) is not None
                ):
                    doc = arithmetic(doc, by)
                else:
                    fail("not_number", f"Expected number at path 'root', got {type_name(doc)}.")
                    continue
            elif not isinstance(doc, dict):
                fail(
                    "target_not_object",
                    f"Cannot {t} at path '{segs[0]}': target is {type_name(doc)}, expected object.",
                )
                continue
            elif segs[0] not in doc:
                doc[segs[0]] = by
            else:
                cur = doc[segs[0]]
                ok = isinstance(cur, (int, float)) and not isinstance(cur, bool)
                if not ok or arithmetic(cur, by) is None:
                    fail(
                        "not_number", f"Expected number at path '{segs[0]}', got {type_name(cur)}."
                    )
                    continue
                doc[segs[0]] = arithmetic(cur, by)
            missing = False

        elif t == "merge":
            if not isinstance(value, dict):
                fail("value.not_an_object", "Merge value must be a JSON object")
                continue
            if len(value) > 1024:
                fail(
                    "value.too_many_keys",
                    f"Merge value has {len(value)} top-level keys, exceeds maximum of 1024",
                )
                continue
            bad = sorted(k for k in value if k in SINKS)
            if bad:
                fail(
                    "value.proto_polluted",
                    f'Merge value top-level key "{bad[0]}" is a prototype-pollution sink',
                )
                continue
            if depth(value) > 16:
                fail(
                    "value.too_deep",
                    f"Merge value JSON nesting depth {depth(value)} exceeds maximum of 16",
                )
                continue
            missing = False
            if not segs:
                if isinstance(doc, dict):
                    doc.update(value)
                continue
            if not isinstance(doc, dict):
                doc = {}
            node = doc
            for s in segs:
                if not isinstance(node.get(s), dict):
                    node[s] = {}
                node = node[s]
            node.update(value)

        else:  # append

            def add_to(target: Any, label: str, value: Any = value) -> tuple[bool, Any]:
                if isinstance(target, list):
                    return True, [*target, value]
                if isinstance(target, str):
                    if isinstance(value, str):
                        return True, target + value
                    fail(
                        "type_mismatch",
                        f"Expected string append value at path '{label}', got {type_name(value)}.",
                    )
                    return False, None
                if target is None:
                    return True, value if isinstance(value, str) else [value]
                fail(
                    "type_mismatch",
                    f"Cannot append at path '{label}': target is {type_name(target)}, expected array, string, null, or missing field.",
                )
                return False, None

            if not segs:
                ok, res = add_to(None if missing else doc, "root")
                if ok:
                    doc = res
                    missing = False
                continue
            if not isinstance(doc, dict):
                fail(
                    "target_not_object",
                    f"Cannot append at path '[{', '.join(segs)}]': target is {type_name(doc)}, expected object.",
                )
                continue
            missing = False
            node = doc
            for s in segs[:-1]:
                if not isinstance(node.get(s), dict):
                    node[s] = {}
                node = node[s]
            leaf = segs[-1]
            if leaf not in node:
                node[leaf] = (
                    (value if isinstance(value, str) else [value]) if len(segs) == 1 else [value]
                )
                continue
            ok, res = add_to(node[leaf], leaf)
            if ok:
                node[leaf] = res
    return doc, errors
