"""Import a second copy of ``iii_core`` from another checkout, beside the installed one.

Rules: the baseline's modules are imported under their own names while ``sys.modules`` holds
no ``iii_core`` entry, then the current modules are put back; the baseline's functions keep
their own module globals, so both versions run in one process, interleaved. Only for
benchmarks: a baseline must not import lazily (the update engine does not).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["import_baseline"]


def import_baseline(source: Path, module: str) -> ModuleType:
    """``module`` (e.g. ``iii_core.update``) imported from ``source`` (a ``src`` directory)."""
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
