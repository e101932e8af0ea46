"""iii-core demo: typed wire objects, the update-op engine, and a stream and state on the
embedded store, each step printed as the call, its result and a one-line comment on what it
shows.

Run it with ``make demo`` (its own small environment: iii-core and msgspec, nothing else) or
``python examples/demo.py`` wherever iii-core is installed; the payloads are read from the
directory of this file, so the working directory does not matter.

1. Typed wire objects: each payload in ``examples/`` decoded with ``iii_core.decode(data, Type)``
   and written back with ``iii_core.encode``.
2. The update-op engine: ``apply_update_ops`` on a stored value and on a missing key, with the
   engine's per-op errors; the old value is left untouched.
3. A stream and state on the embedded ``MemoryStore``: every call with its result and the change
   events it emitted.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

from iii_core import MISSING, apply_update_ops, decode, encode
from iii_core.backends import ChangeEvent, MemoryStore
from iii_core.stream import StreamChangeEvent, UpdateOp
from iii_core.worker_connection_manager import AuthResult

EXAMPLES = Path(__file__).resolve().parent
LABEL_WIDTH = 8
WIDTH = max(min(shutil.get_terminal_size().columns, 120), 60)


def _payload(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def _json(value: Any) -> str:
    """``value`` as the wire JSON, with spaces so that long lines wrap between tokens."""
    return json.dumps(json.loads(encode(value)), ensure_ascii=False)


def heading(number: int, title: str) -> None:
    print(f"\n{number}. {title}")


def comment(text: str) -> None:
    print(f"\n  # {text}")


def show(label: str, text: str) -> None:
    """``label`` then ``text``, wrapped under the text's own column."""
    indent = " " * (2 + LABEL_WIDTH + 1)
    lines = textwrap.wrap(
        text,
        width=WIDTH,
        initial_indent=f"  {label:<{LABEL_WIDTH}} ",
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    print("\n".join(lines))


def typed_objects() -> list[UpdateOp]:
    heading(1, "Typed wire objects: decode(data, Type) and encode(obj)")
    comment("each op's `type` tag picks its class (examples/update_ops.json)")
    show("call", "decode(update_ops.json, list[UpdateOp])")
    ops = decode(_payload("update_ops.json"), list[UpdateOp])
    for index, op in enumerate(ops):
        show(f"[{index}]", repr(op))

    comment("camelCase on the wire, snake_case in Python (examples/stream_change_event.json)")
    show("call", "decode(stream_change_event.json, StreamChangeEvent)")
    event = decode(_payload("stream_change_event.json"), StreamChangeEvent)
    show("result", f"stream_name={event.stream_name!r} group_id={event.group_id!r} id={event.id!r}")
    show("encode", _json(event))

    comment("absent fields with a documented default get it (examples/auth_result.json)")
    show("call", "decode(auth_result.json, AuthResult)")
    result = decode(_payload("auth_result.json"), AuthResult)
    show(
        "result",
        f"allow_function_registration={result.allow_function_registration!r} "
        f"allow_trigger_type_registration={result.allow_trigger_type_registration!r}",
    )
    return ops


def update_engine(ops: list[UpdateOp]) -> None:
    heading(2, "The update-op engine: apply_update_ops(old, ops) -> (new, errors)")
    old = {"status": "new", "visits": 41, "credits": 10, "tags": ["alpha"], "draft": True}
    comment("the ops above on a stored value; the old value is never mutated")
    show("call", "apply_update_ops(old, ops)")
    show("old", _json(old))
    new, errors = apply_update_ops(old, ops)
    show("new", _json(new))
    show("errors", _json(errors))
    show("old", f"{_json(old)}  (unchanged)")

    failing = [
        {"type": "increment", "path": "status", "by": 1},
        {"type": "merge", "path": ["__proto__"], "value": {"x": 1}},
        {"type": "append", "path": "", "value": "hello"},
    ]
    comment("a missing key starts from {}; a failing op is skipped and reported, the rest apply")
    show("call", f"apply_update_ops(MISSING, {_json(failing)})")
    new, errors = apply_update_ops(MISSING, failing)
    show("new", _json(new))
    for error in errors:
        show(f"error {error.op_index}", f"{error.code}: {error.message}")


def store_calls() -> None:
    heading(3, "A stream and state on the embedded MemoryStore: store.call(function_id, payload)")
    events: list[ChangeEvent] = []
    store = MemoryStore()
    store.watch(events.append)
    item = {"stream_name": "chat", "group_id": "room-1", "item_id": "msg-1"}
    steps: list[tuple[str, str, dict[str, Any]]] = [
        (
            "set a new item: no old value, one create event",
            "stream::set",
            {**item, "data": {"text": "hel", "edits": 0}},
        ),
        (
            "update it with ops: the failing third op is reported, the others apply",
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
            "send a custom event to the group: nothing is stored",
            "stream::send",
            {"stream_name": "chat", "group_id": "room-1", "type": "typing", "data": {"u": "ana"}},
        ),
        ("list the group's items", "stream::list", {"stream_name": "chat", "group_id": "room-1"}),
        ("delete the item: its last value comes back, one delete event", "stream::delete", item),
        ("delete it again: nothing to delete, so no event", "stream::delete", item),
        (
            "state is scope -> key -> value; a write returns old and new",
            "state::set",
            {"scope": "users", "key": "ana", "value": {"visits": 1}},
        ),
        (
            "a state delete of a missing key still emits state:deleted, as the engine does",
            "state::delete",
            {"scope": "users", "key": "nobody"},
        ),
    ]
    for text, function_id, payload in steps:
        comment(text)
        show("call", f"{function_id} {_json(payload)}")
        events.clear()
        show("result", _json(store.call(function_id, payload)))
        for event in events:
            show("event", _json(event))
    store.close()


def main() -> None:
    print("iii-core demo: each step prints the call, its result and what it shows.")
    ops = typed_objects()
    update_engine(ops)
    store_calls()


if __name__ == "__main__":
    main()
