"""The hub is pure core: importing it pulls in no binding, socket or event loop. The import
contract of ``make lint`` already forbids ``subscriptions`` to import iii-core's bindings; this
also checks what a contract on ``iii_core`` cannot see: third-party I/O packages (websockets,
redis) and the standard library's sockets, threads and event loop."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("iii_core.backends", "iii_core.server", "iii_core.cli", "websockets", "redis")
FORBIDDEN_EXACT = ("asyncio", "socket", "threading", "selectors")


def test_importing_the_hub_imports_no_binding() -> None:
    probe = (
        "import sys, iii_core.subscriptions\n"
        f"bad = [m for m in sys.modules if m.startswith({FORBIDDEN!r}) or m in {FORBIDDEN_EXACT!r}]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""
