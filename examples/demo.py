"""iii-core demo: typed wire objects, the update-op engine, and a stream on the embedded store.

Run it with ``make demo`` or ``.venv/bin/python examples/demo.py``; the payloads are read from
the directory of this file, so the working directory does not matter.

1. Each payload in ``examples/`` is decoded with ``iii_core.decode(data, Type)``, printed as
   typed objects, and printed back as JSON with ``iii_core.encode``.
2. The op list is applied to a stored value with ``apply_update_ops``, with the engine's
   per-op errors, and the old value is shown to be untouched.
3. A stream on the embedded ``MemoryStore``: a subscriber prints every change event while items
   are set, updated, sent to and deleted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iii_core import MISSING, apply_update_ops, decode, encode
from iii_core.backends import ChangeEvent, MemoryStore
from iii_core.stream import StreamChangeEvent, StreamTriggerConfig, UpdateOp
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


def apply_ops(ops: list[UpdateOp]) -> None:
    """The engine's update semantics on a stored value, then on a missing key."""
    _heading("apply_update_ops")
    old = {"status": "new", "visits": 41, "credits": 10, "tags": ["alpha"], "draft": True}
    new, errors = apply_update_ops(old, ops)
    print(f"  old:    {encode(old).decode()}  (unchanged)")
    print(f"  new:    {encode(new).decode()}")
    print(f"  errors: {encode(errors).decode()}")
    failing = [
        {"type": "increment", "path": "status", "by": 1},
        {"type": "merge", "path": ["__proto__"], "value": {"x": 1}},
        {"type": "append", "path": "", "value": "hello"},
    ]
    new, errors = apply_update_ops(MISSING, failing)
    print(f"  on a missing key: new={encode(new).decode()}")
    for error in errors:
        print(f"    op {error.op_index}: {error.code}: {error.message}")


def _print_event(event: ChangeEvent) -> None:
    print(f"  event: {encode(event).decode()}")


def stream_on_memory_store() -> None:
    """A stream written and updated on the embedded store, its change events printed."""
    _heading("a stream on the embedded MemoryStore")
    store = MemoryStore()
    store.subscribe(StreamTriggerConfig(stream_name="chat", group_id="room-1"), _print_event)
    item = {"stream_name": "chat", "group_id": "room-1", "item_id": "msg-1"}
    calls: list[tuple[str, dict[str, Any]]] = [
        ("stream::set", {**item, "data": {"text": "hel", "edits": 0}}),
        (
            "stream::update",
            {
                **item,
                "ops": [
                    {"type": "append", "path": "text", "value": "lo"},
                    {"type": "increment", "path": "edits", "by": 1},
                    {"type": "increment", "path": "text", "by": 1},
                ],
            },
        ),
        (
            "stream::send",
            {
                "stream_name": "chat",
                "group_id": "room-1",
                "type": "typing",
                "data": {"user": "ana"},
            },
        ),
        ("stream::list", {"stream_name": "chat", "group_id": "room-1"}),
        ("stream::delete", item),
        ("stream::delete", item),
    ]
    for function_id, payload in calls:
        print(f"{function_id} -> {encode(store.call(function_id, payload)).decode()}")
    store.close()


def main() -> None:
    ops = update_ops()
    stream_change_event()
    auth_result()
    apply_ops(ops)
    stream_on_memory_store()


if __name__ == "__main__":
    main()
