"""Hypothesis strategies for JSON documents and update-op lists (valid and malformed)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

I64_MIN, I64_MAX, U64_MAX = -(2**63), 2**63 - 1, 2**64 - 1

# Few keys, so that ops keep hitting existing fields; sinks, dots and "" on purpose.
KEYS = st.sampled_from(["a", "b", "c", "x.y", "", "__proto__", "constructor", "root", "é" * 129])
SEGMENTS = st.one_of(KEYS, st.sampled_from(["a", "b"]))

integers = st.one_of(
    st.integers(-5, 5),
    st.sampled_from(
        [I64_MIN, I64_MIN + 1, I64_MAX - 1, I64_MAX, I64_MAX + 1, U64_MAX - 1, U64_MAX]
    ),
    st.integers(I64_MIN, U64_MAX),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    integers,
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
    st.text(max_size=5),
)


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(KEYS, children, max_size=4),
        ),
        max_leaves=max_leaves,
    )


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"n": value}
    return value


documents = st.one_of(json_values(), st.dictionaries(KEYS, json_values(6), max_size=6))
string_paths = st.one_of(KEYS, st.just(""))
merge_paths = st.one_of(
    st.none(),
    st.just(""),
    st.just([]),
    KEYS,
    st.lists(SEGMENTS, min_size=1, max_size=4),
    st.lists(st.just("a"), min_size=31, max_size=34),
)
by_values = st.one_of(
    st.integers(-3, 3), st.sampled_from([I64_MIN, I64_MAX]), st.integers(I64_MIN, I64_MAX)
)
merge_values = st.one_of(
    st.dictionaries(KEYS, json_values(4), max_size=4),
    json_values(4),
    st.integers(14, 18).map(_nested),
)


def _op(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, **fields}


def _path_kwargs(path: Any) -> dict[str, Any]:
    return {} if path is None else {"path": path}


valid_ops = st.one_of(
    st.builds(lambda p, v: _op("set", path=p, value=v), string_paths, json_values(4)),
    st.builds(lambda p: _op("set", path=p), string_paths),
    st.builds(lambda p, v: _op("merge", **_path_kwargs(p), value=v), merge_paths, merge_values),
    st.builds(lambda p, b: _op("increment", path=p, by=b), string_paths, by_values),
    st.builds(lambda p, b: _op("decrement", path=p, by=b), string_paths, by_values),
    st.builds(lambda p, v: _op("append", **_path_kwargs(p), value=v), merge_paths, json_values(3)),
    st.builds(lambda p: _op("remove", path=p), string_paths),
)
op_lists = st.lists(valid_ops, max_size=8)

malformed_ops = st.one_of(
    st.builds(
        lambda t: {"type": t, "path": "a", "value": 1},
        st.text(max_size=4).filter(
            lambda t: t not in {"set", "merge", "increment", "decrement", "append", "remove"}
        ),
    ),
    st.just({"path": "a", "value": 1}),
    st.builds(
        lambda k: _op(k, value=1), st.sampled_from(["set", "increment", "decrement", "remove"])
    ),
    st.builds(
        lambda k, p: _op(k, path=p, by=1, value=1),
        st.sampled_from(["set", "remove"]),
        st.one_of(st.none(), st.lists(KEYS, max_size=2), st.integers()),
    ),
    st.builds(
        lambda k, b: _op(k, path="a", by=b),
        st.sampled_from(["increment", "decrement"]),
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False),
            st.text(max_size=2),
            st.none(),
            st.booleans(),
            st.integers(I64_MAX + 1, 2**70),
            st.integers(-(2**70), I64_MIN - 1),
        ),
    ),
    st.builds(lambda k: _op(k, path="a"), st.sampled_from(["merge", "append", "increment"])),
    st.builds(
        lambda k, p: _op(k, path=p, value={}),
        st.sampled_from(["merge", "append"]),
        st.one_of(
            st.integers(), st.lists(st.integers(), min_size=1, max_size=2), st.just({"a": 1})
        ),
    ),
    st.integers(),
    st.text(max_size=3),
    st.none(),
)
