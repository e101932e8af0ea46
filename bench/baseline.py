"""Import a second copy of ``iii_core`` from a past commit, beside the current one.

Rules: the commit's ``src`` is extracted with ``git archive`` into a temporary directory (the
repository and its worktrees are not touched); its modules are imported while ``sys.modules``
holds no ``iii_core`` entry, then the current modules are put back. The baseline's functions
keep their own module globals, so both versions run in one process, interleaved. Only for
benchmarks: a baseline module must not import lazily (the update engine does not).
"""

from __future__ import annotations

import importlib
import io
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

__all__ = ["baseline_module", "baseline_source"]

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def baseline_module(commit: str, module: str) -> Iterator[ModuleType]:
    """``module`` (e.g. ``iii_core.update``) as it was at ``commit``."""
    with baseline_source(commit) as source:
        yield _import_beside(source, module)


@contextmanager
def baseline_source(commit: str) -> Iterator[Path]:
    """The ``src`` directory of ``commit``, extracted (for a subprocess's ``PYTHONPATH``)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit, "src"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tempfile.TemporaryDirectory(prefix=f"iii-core-{commit}-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp) / "src"


def _import_beside(source: Path, module: str) -> ModuleType:
    current = {name: mod for name, mod in sys.modules.items() if _ours(name)}
    for name in current:
        del sys.modules[name]
    sys.path.insert(0, str(source))
    try:
        return importlib.import_module(module)
    finally:
        sys.path.remove(str(source))
        for name in [name for name in sys.modules if _ours(name)]:
            del sys.modules[name]
        sys.modules.update(current)


def _ours(name: str) -> bool:
    return name == "iii_core" or name.startswith("iii_core.")
