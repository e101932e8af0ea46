"""iii-core demo: wire JSON in, typed objects out, and back to the same wire JSON.

Run it with ``make demo`` or ``.venv/bin/python examples/demo.py``; the payloads are read from
the directory of this file, so the working directory does not matter. Each section decodes one
payload with ``iii_core.decode(data, Type)``, prints the typed objects, and prints them back as
JSON with ``iii_core.encode``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iii_core import decode, encode
from iii_core.stream import StreamChangeEvent, UpdateOp
from iii_core.worker_connection_manager import AuthResult

EXAMPLES = Path(__file__).resolve().parent


def _payload(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def _heading(title: str) -> None:
    print(f"\n== {title} ==")


def _as_json(obj: Any) -> None:
    print(f"  as JSON: {encode(obj).decode()}")


def update_ops() -> list[UpdateOp]:
    """An op list: each ``type`` tag decodes straight into its own op class."""
    _heading("update ops (examples/update_ops.json)")
    ops = decode(_payload("update_ops.json"), list[UpdateOp])
    for index, op in enumerate(ops):
        print(f"  [{index}] {type(op).__name__}: {op!r}")
    _as_json(ops)
    return ops


def stream_change_event() -> StreamChangeEvent:
    """A stream change event: camelCase on the wire, snake_case attributes in Python."""
    _heading("stream change event (examples/stream_change_event.json)")
    event = decode(_payload("stream_change_event.json"), StreamChangeEvent)
    print(f"  {event!r}")
    print(
        f"  stream_name={event.stream_name!r} group_id={event.group_id!r} "
        f"id={event.id!r} change={event.event.type!r}"
    )
    _as_json(event)
    return event


def auth_result() -> AuthResult:
    """An auth result: absent fields with a documented default get it, the rest stay absent."""
    _heading("auth result (examples/auth_result.json)")
    result = decode(_payload("auth_result.json"), AuthResult)
    print(f"  {result!r}")
    _as_json(result)
    return result


def main() -> None:
    update_ops()
    stream_change_event()
    auth_result()


if __name__ == "__main__":
    main()
