"""Hypothesis: any sequence of appends, compactions and reopens replays to what a plain dict
model holds (insertion order included), and the log's nesting-depth check equals a walk."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import msgspec
from hypothesis import example, given, settings
from hypothesis import strategies as st

from iii_core.backends._durable_log import DurableLog, _too_deep
from tests.jsonvalues import same_json
from tests.property.strategies import json_values

# Few names, so that steps keep hitting the same fields.
HASH_KEYS = st.sampled_from(["stream:s:g", "é"])
FIELDS = st.sampled_from(["a", "", '["\\'])
SET = st.tuples(st.just("set"), HASH_KEYS, FIELDS, json_values(max_leaves=6))
DELETE = st.tuples(st.just("delete"), HASH_KEYS, FIELDS)
# Appends three times as often as compactions and reopens, so that the replay of records
# (not only of compacted files) is what most reopens test.
STEPS = st.lists(
    st.one_of(SET, SET, SET, DELETE, DELETE, DELETE, st.just(("compact",)), st.just(("reopen",))),
    min_size=8,
    max_size=60,
)


def live(model: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What compaction and replay keep: the hashes that still have fields, in order."""
    return {key: dict(fields) for key, fields in model.items() if fields}


def assert_same_hashes(got: dict[str, dict[str, Any]], want: dict[str, dict[str, Any]]) -> None:
    assert [(k, list(f)) for k, f in got.items()] == [(k, list(f)) for k, f in want.items()]
    assert all(same_json(got[k][f], want[k][f]) for k in want for f in want[k])


@given(STEPS)
@example([("set", "h", "a", 1), ("set", "h", "b", 2), ("delete", "h", "a"), ("set", "h", "a", 3)])
@settings(max_examples=200, deadline=None)
def test_replay_equals_a_dict_model(steps: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "store.log")
        # Thresholds 0 and 1x: every compact step after an append compacts for real.
        options: dict[str, Any] = {"compact_min_bytes": 0, "compact_ratio": 1.0}
        log, hashes = DurableLog.open(path, **options)
        model: dict[str, dict[str, Any]] = {}
        try:
            for step in steps:
                if step[0] == "set":
                    _, hash_key, field, value = step
                    before = msgspec.json.encode(value)
                    log.append_set(hash_key, field, value)
                    assert msgspec.json.encode(value) == before  # the value is not mutated
                    model.setdefault(hash_key, {})[field] = value
                elif step[0] == "delete":
                    _, hash_key, field = step
                    log.append_delete(hash_key, field)
                    model.get(hash_key, {}).pop(field, None)
                elif step[0] == "compact":
                    # The caller's hashes keep emptied ones (as MemoryStore does); the
                    # compacted file forgets them, so the model does too.
                    log.maybe_compact(model)
                    model = live(model)
                else:
                    log.close()
                    log, hashes = DurableLog.open(path, **options)
                    model = live(model)
                    assert_same_hashes(hashes, model)
        finally:
            log.close()
        log, hashes = DurableLog.open(path)
        log.close()
        assert_same_hashes(hashes, live(model))


# Strings and keys full of brackets, quotes and backslashes, which the depth scan must skip.
TRICKY_TEXT = st.text(alphabet='[]{}"\\a', max_size=6)
TRICKY_VALUES = st.recursive(
    st.one_of(st.none(), st.integers(), TRICKY_TEXT),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(TRICKY_TEXT, children, max_size=3)
    ),
    max_leaves=20,
)


def depth(value: Any) -> int:
    deepest = 0
    stack = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, list | dict):
            level += 1
            stack.extend(
                (child, level) for child in (node.values() if isinstance(node, dict) else node)
            )
        deepest = max(deepest, level)
    return deepest


@given(TRICKY_VALUES, st.integers(0, 8))
def test_the_depth_check_equals_a_walk(value: Any, limit: int) -> None:
    line = msgspec.json.encode(value)
    assert _too_deep(line, limit) == (depth(value) > limit)
    assert msgspec.json.encode(value) == line
