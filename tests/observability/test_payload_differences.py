"""Where ``redact`` deliberately differs from iii-helpers 0.20.0, shown on both.

The published ``redact`` recurses, so deep or self-referencing input raises ``RecursionError``.
Ours walks with its own stack: a container deeper than ``MAX_DEPTH`` or one that contains
itself is replaced by the placeholder. Wherever the published package returns a result, the
two agree (it hits the recursion limit at about 500 levels, before ``MAX_DEPTH``).
"""

from __future__ import annotations

from typing import Any

import pytest
from iii_helpers.observability import payload as upstream

from iii_core.observability import (
    REDACTED_PLACEHOLDER,
    NonStringKeyError,
    redact,
    redact_and_truncate,
)
from iii_core.observability._payload import MAX_DEPTH
from tests.observability.pyvalues import same_python


def nested(depth: int, leaf: Any = None) -> Any:
    """``depth`` containers, alternating dict and list, around ``leaf``."""
    value = leaf
    for level in range(depth):
        value = {"n": value} if level % 2 else [value]
    return value


def depth_of(value: Any) -> int:
    depth = 0
    while isinstance(value, dict | list):
        depth += 1
        value = value["n"] if isinstance(value, dict) else value[0]
    return depth


def test_deep_input_below_the_published_limit_agrees() -> None:
    value = nested(300, {"password": "p"})
    assert same_python(redact(value), upstream.redact(value))


def test_deep_input_is_cut_at_max_depth_not_recursion_error() -> None:
    value = nested(100_000, "leaf")
    with pytest.raises(RecursionError):
        upstream.redact(value)
    result = redact(value)
    assert depth_of(result) == MAX_DEPTH
    cut = result
    for _ in range(MAX_DEPTH - 1):
        cut = cut["n"] if isinstance(cut, dict) else cut[0]
    assert cut in ([REDACTED_PLACEHOLDER], {"n": REDACTED_PLACEHOLDER})


def test_exactly_max_depth_is_kept_whole() -> None:
    value = nested(MAX_DEPTH, "leaf")
    result = redact(value)
    assert depth_of(result) == MAX_DEPTH
    inner = result
    for _ in range(MAX_DEPTH):
        inner = inner["n"] if isinstance(inner, dict) else inner[0]
    assert inner == "leaf"


def test_deep_input_serialises() -> None:
    value = nested(100_000)
    with pytest.raises(RecursionError):
        upstream.redact_and_truncate(value, 64)
    text, truncated = redact_and_truncate(value, 64)
    assert truncated and len(text.encode()) <= 64
    full, _ = redact_and_truncate(value)
    assert REDACTED_PLACEHOLDER in full


def test_self_reference_is_replaced_by_the_placeholder() -> None:
    value: dict[str, Any] = {"name": "loop", "items": []}
    value["items"].append(value)
    value["again"] = value
    with pytest.raises(RecursionError):
        upstream.redact(value)
    assert redact(value) == {
        "name": "loop",
        "items": [REDACTED_PLACEHOLDER],
        "again": REDACTED_PLACEHOLDER,
    }
    assert redact_and_truncate(value)[0] == (
        '{"name": "loop", "items": ["[REDACTED]"], "again": "[REDACTED]"}'
    )


def test_shared_but_acyclic_subtrees_are_copied_each_time() -> None:
    shared = {"token": "t", "ok": 1}
    value = [shared, shared, (shared,)]
    result = redact(value)
    assert same_python(result, upstream.redact(value))
    assert result[0] is not result[1]


def test_cycle_through_a_tuple() -> None:
    inner: list[Any] = []
    value = (inner,)
    inner.append(value)
    assert redact(value) == ([REDACTED_PLACEHOLDER],)


@pytest.mark.parametrize("key", [1, None, ("a",), b"password"])
def test_non_string_key_raises_what_the_published_package_raises(key: Any) -> None:
    value = {"ok": [{"fine": 1, key: 2}]}
    with pytest.raises((AttributeError, TypeError)) as published:
        upstream.redact(value)
    with pytest.raises(NonStringKeyError, match=r"at \$\['ok'\]\[0\]") as ours:
        redact(value)
    assert isinstance(ours.value, type(published.value))
    assert isinstance(ours.value, AttributeError) and isinstance(ours.value, TypeError)


class _StrRecurses:
    def __str__(self) -> str:
        raise RecursionError("deep")


def test_recursion_error_while_serialising_gives_null() -> None:
    value = {"o": _StrRecurses()}
    with pytest.raises(RecursionError):
        upstream.redact_and_truncate(value)
    assert redact_and_truncate(value) == ("null", False)
