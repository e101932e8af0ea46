"""The shared conformance vectors: read from ../shared/conformance when it is beside the clone,
else from the copies in tests/conformance/data, so the suite runs either way (a test checks
that each copy still equals the shared file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).parents[3] / "shared" / "conformance"


def vector_file(name: str) -> Path:
    shared = SHARED / name
    return shared if shared.exists() else DATA / name


def helpers_vectors() -> dict[str, dict[str, Any]]:
    """helpers.json by vector id."""
    document = json.loads(vector_file("helpers.json").read_text(encoding="utf-8"))
    return {vector["id"]: vector for vector in document["vectors"]}
