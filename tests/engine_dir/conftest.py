"""Fixtures: the engine directory store on a fresh data directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from iii_core.backends import Store
from iii_core.backends.engine_dir import EngineDirStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = EngineDirStore(tmp_path / "data")
    yield opened
    opened.close()
