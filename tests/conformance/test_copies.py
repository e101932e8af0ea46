"""The copies in tests/conformance/data are the shared vectors, unchanged."""

from __future__ import annotations

import json

import pytest

from tests.conformance.vectors import DATA, SHARED


@pytest.mark.parametrize("name", ["update-ops.json", "stream-state.json", "helpers.json"])
def test_copy_equals_the_shared_file(name: str) -> None:
    copy = json.loads((DATA / name).read_text(encoding="utf-8"))
    assert copy
    if (SHARED / name).exists():
        shared = json.loads((SHARED / name).read_text(encoding="utf-8"))
        assert copy == shared, f"tests/conformance/data/{name} is stale: copy it from ../shared"
