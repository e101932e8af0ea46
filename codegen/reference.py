"""Write ``docs/reference.md`` (every ``stream::*``/``state::*`` function and every wire type)
from ``schema/*.json`` and the store itself, or check that the committed page is current.

Usage::

    python codegen/reference.py          # rewrite docs/reference.md
    python codegen/reference.py --check  # exit 1 and show a diff when the committed page drifted

Rules: the page is written only by this script. Each type section comes from its schema (title,
description, properties, required, defaults, variants); each function's input type is the class
the store decodes its example payload into; each example's answer, change events and error
message is computed here by running it on a fresh ``MemoryStore`` with a fixed clock, and the
HTTP status of each error code is the one ``iii-core serve`` answers with. Only the one-line
prose of :data:`FUNCTIONS` is written by hand, and a function of the store that the table lacks
stops the script. The output is deterministic, so a plain text comparison is a drift check.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from iii_core.backends import MemoryStore
from iii_core.server import Limits
from iii_core.server._calls import _STATUS_BY_CODE  # the statuses `iii-core serve` answers with
from iii_core.store import READ_FUNCTIONS, WRITE_FUNCTIONS, StoreCallError, decode_call

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT / "schema"
TARGET = ROOT / "docs" / "reference.md"
# Module order on the page: the store's types first.
MODULES = ("stream", "state", "http", "queue", "observability", "worker_connection_manager")
CLOCK_MS = 1_700_000_000_000
UNKNOWN_CODE_STATUS = 500
SIZE_LIMIT_EXAMPLE = 16


@dataclass(frozen=True)
class Function:
    """The hand-written part of a function's section; everything else is computed."""

    function_id: str
    summary: str
    result: str
    events: str
    example: dict[str, Any]
    result_type: str | None = None  # the schema title of the result, when it has one
    value_limit: bool = False  # refuses values over ``max_value_bytes``


_ITEM = {"stream_name": "chat", "group_id": "room-1", "item_id": "msg-1"}
_STATE = {"scope": "users", "key": "ana"}

# In page order; the examples run in this order on one store.
FUNCTIONS = (
    Function(
        "stream::set",
        "Store `data` as the item `item_id` of a stream group, replacing any value.",
        "The previous value (`null` if none) and the new one.",
        "`create` if the item was new, else `update`, with the new value.",
        {**_ITEM, "data": {"text": "hello", "edits": 0}},
        result_type="StreamSetResult",
    ),
    Function(
        "stream::get",
        "Read one item.",
        "The item's value, or `null` when there is none.",
        "None.",
        _ITEM,
    ),
    Function(
        "stream::update",
        "Apply update ops to one item (a missing item starts from `{}`).",
        "The previous and new values; `errors` lists the ops that failed and were skipped "
        "(omitted when empty).",
        "`create` or `update`, with the new value.",
        {
            **_ITEM,
            "ops": [
                {"type": "increment", "path": "edits", "by": 1},
                {"type": "append", "path": "text", "value": "!"},
                {"type": "increment", "path": "text", "by": 1},
            ],
        },
        result_type="StreamUpdateResult",
    ),
    Function(
        "stream::send",
        "Send a custom event to the subscribers of a group (or of one item, with `id`); "
        "nothing is stored.",
        "`null`.",
        "`event`, carrying the caller's `type` and `data`.",
        {"stream_name": "chat", "group_id": "room-1", "type": "typing", "data": {"user": "ana"}},
    ),
    Function(
        "stream::list",
        "Read every item of a group, in insertion order.",
        "An array of the values (empty when the group has none).",
        "None.",
        {"stream_name": "chat", "group_id": "room-1"},
    ),
    Function(
        "stream::list_groups",
        "List the groups of a stream.",
        "An array of group ids (not sorted).",
        "None.",
        {"stream_name": "chat"},
    ),
    Function(
        "stream::list_all",
        "List every stream with its groups.",
        "`stream`, the streams sorted by name, and `count`.",
        "None.",
        {},
        result_type="StreamListAllResult",
    ),
    Function(
        "stream::delete",
        "Delete one item.",
        "The removed value as `old_value` (`null` when there was none).",
        "`delete`, with the removed value; none when the item did not exist.",
        _ITEM,
        result_type="StreamDeleteResult",
    ),
    Function(
        "state::set",
        "Store `value` under `key` in `scope`, replacing any value.",
        "The previous value (`null` if none) and the new one.",
        "`state:created` if the key was new, else `state:updated`.",
        {**_STATE, "value": {"visits": 1}},
        value_limit=True,
    ),
    Function(
        "state::get",
        "Read one key.",
        "The value, or `null` when there is none.",
        "None.",
        _STATE,
    ),
    Function(
        "state::update",
        "Apply update ops to one key (a missing key starts from `{}`).",
        "The previous and new values; `errors` lists the ops that failed and were skipped "
        "(omitted when empty).",
        "`state:created` or `state:updated`.",
        {**_STATE, "ops": [{"type": "increment", "path": "visits", "by": 1}]},
    ),
    Function(
        "state::list",
        "Read every value of a scope, in insertion order.",
        "An array of the values.",
        "None.",
        {"scope": "users"},
    ),
    Function(
        "state::list_groups",
        "List the scopes.",
        "`groups`, the scopes deduplicated and sorted.",
        "None.",
        {},
        result_type="StateListGroupsResult",
    ),
    Function(
        "state::delete",
        "Delete one key.",
        "The removed value itself (not wrapped), or `null`.",
        "`state:deleted`, even when the key did not exist (as the engine does).",
        _STATE,
    ),
)

# Every code `iii-core serve` maps to a status needs a line here (the script stops otherwise).
ERROR_MEANINGS = {
    "invalid_json": "The line (`iii-core call`) or the body (`POST /call`) is not JSON.",
    "deserialization_error": "The payload does not fit the function's input type; the "
    "message names the field, as the engine's serde does.",
    "function_not_found": "No such function id.",
    "VALUE_TOO_LARGE": "`state::set` of a value larger than the store's `max_value_bytes` "
    "(no limit unless configured; `iii-core serve --max-value-bytes`, 1 MiB by default).",
    "body_too_large": "The body (`POST /call`) is over `iii-core serve --max-body-bytes` or has "
    "over `--max-body-values` JSON values; refused before any call.",
    "STORE_UNAVAILABLE": "The Redis store cannot be reached; the next call reconnects.",
}


# -- schema rendering ---------------------------------------------------------------------------


def _anchor(title: str) -> str:
    return f"type-{title.lower()}"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _type(schema: Any) -> str:
    """A JSON Schema as a short type expression, with links to the named types."""
    if (
        schema is True
        or schema == {}
        or (isinstance(schema, dict) and set(schema) <= {"description", "title"})
    ):
        return "any JSON"
    if "$ref" in schema:
        title = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{title}](#{_anchor(title)})"
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(value)}`" for value in schema["enum"])
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            return " \\| ".join(_type(variant) for variant in schema[combinator])
    kinds = schema.get("type")
    if isinstance(kinds, list):
        return " \\| ".join(_type({**schema, "type": kind}) for kind in kinds)
    if kinds == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if kinds == "object" and "additionalProperties" in schema and "properties" not in schema:
        return f"object of {_type(schema['additionalProperties'])}"
    if kinds == "integer":
        bounds = [f"{key} {schema[key]}" for key in ("minimum", "maximum") if key in schema]
        return "integer" + (f" ({', '.join(bounds)})" if bounds else "")
    return str(kinds)


def _type_section(title: str, schema: dict[str, Any]) -> Iterator[str]:
    yield f'<a id="{_anchor(title)}"></a>'
    yield f"### {title}"
    yield ""
    if "description" in schema:
        yield " ".join(schema["description"].split())
        yield ""
    yield from _type_body(schema)


def _type_body(schema: dict[str, Any]) -> Iterator[str]:
    """The fields table of an object type, else its type expression."""
    properties: dict[str, Any] = schema.get("properties", {})
    if properties:
        required = set(schema.get("required", ()))
        yield "| field | type | required | description |"
        yield "|---|---|---|---|"
        for name, prop in properties.items():
            description = prop.get("description", "") if isinstance(prop, dict) else ""
            if isinstance(prop, dict) and "default" in prop:
                description = f"{description} Default: `{json.dumps(prop['default'])}`.".strip()
            mark = "yes" if name in required else "no"
            yield f"| `{name}` | {_type(prop)} | {mark} | {_cell(description)} |"
    elif schema.get("type") == "object" and "additionalProperties" not in schema:
        yield "An object with no fields: `{}`."
    else:
        yield f"Type: {_type(schema)}"
        discriminator = schema.get("discriminator", {}).get("propertyName")
        if discriminator:
            yield ""
            yield f"The variant is chosen by its `{discriminator}` property."
    yield ""


def _load_schemas(schema_dir: Path) -> dict[str, dict[str, Any]]:
    return {
        module: json.loads((schema_dir / f"{module}.json").read_text(encoding="utf-8"))
        for module in MODULES
    }


def _generated_types(schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each schema title's generated class, from ``iii_core._generated.<module>``."""
    types: dict[str, Any] = {}
    for module, document in schemas.items():
        generated = importlib.import_module(f"iii_core._generated.{module}")
        types.update({title: getattr(generated, title, None) for title in document["$defs"]})
    return types


# -- examples, run for real ---------------------------------------------------------------------


@dataclass
class Example:
    request: str
    answer: str
    events: list[str] = field(default_factory=list)


_encoder = msgspec.json.Encoder()


def _answer(call: Any) -> str:
    """What ``iii-core call`` writes for one call: ``{"result"}`` or ``{"error"}``."""
    try:
        return _encoder.encode({"result": call()}).decode()
    except StoreCallError as exc:
        return _encoder.encode({"error": {"code": exc.code, "message": exc.message}}).decode()


def _request(function_id: str, payload: Any) -> str:
    return json.dumps({"function_id": function_id, "payload": payload})


def _run_examples() -> dict[str, Example]:
    store = MemoryStore(clock=lambda: CLOCK_MS)
    events: list[Any] = []
    store.watch(events.append)
    examples: dict[str, Example] = {}
    for function in FUNCTIONS:
        events.clear()
        answer = _answer(lambda f=function: store.call(f.function_id, f.example))
        examples[function.function_id] = Example(
            _request(function.function_id, function.example),
            answer,
            [_encoder.encode(event).decode() for event in events],
        )
    store.close()
    return examples


def _error_examples(function: Function) -> list[Example]:
    store = MemoryStore(clock=lambda: CLOCK_MS, max_value_bytes=SIZE_LIMIT_EXAMPLE)
    payloads: list[Any] = [{} if function.example else None]
    if function.value_limit:
        payloads.append({**function.example, "value": {"text": "x" * SIZE_LIMIT_EXAMPLE}})
    out = []
    for payload in payloads:
        answer = _answer(lambda p=payload: store.call(function.function_id, p))
        if not answer.startswith('{"error"'):
            raise SystemExit(f"{function.function_id}: {payload!r} is no error example: {answer}")
        out.append(Example(_request(function.function_id, payload), answer))
    store.close()
    return out


def _status(code: str) -> int:
    return int(_STATUS_BY_CODE.get(code, UNKNOWN_CODE_STATUS))


# -- the page -----------------------------------------------------------------------------------


def _intro(schemas: dict[str, dict[str, Any]]) -> Iterator[str]:
    body_limit = Limits().max_body_bytes
    unknown = _answer(lambda: MemoryStore().call("stream::nope", {}))
    yield "# iii-core reference"
    yield ""
    yield (
        "<!-- GENERATED by codegen/reference.py from schema/*.json and the store. Do not edit: "
        "run `make codegen`; `make codegen-check` fails when this page is stale. -->"
    )
    yield ""
    yield "Every `stream::*` and `state::*` function, then every wire type. Each example below"
    yield "was run on the embedded store (one store, in page order, clock fixed at"
    yield f"`{CLOCK_MS}`) when this page was generated."
    yield ""
    yield "## Calling a function"
    yield ""
    yield "The payload and the result are the same JSON in every binding:"
    yield ""
    yield "- **Python**: `store.call(function_id, payload)` on a `MemoryStore`, `RedisStore` or"
    yield "  `AsyncRedisStore` (`from iii_core.backends import MemoryStore`) returns the result"
    yield "  or raises `iii_core.store.StoreCallError` with `.code` and `.message`; nothing is"
    yield "  changed."
    yield "- **Command line**: `iii-core call` reads one line"
    yield '  `{"function_id": ..., "payload": ...}` at a time on stdin and answers each with one'
    yield '  line `{"result": ...}` or `{"error": {"code": ..., "message": ...}}` on stdout.'
    yield "- **HTTP**: `iii-core serve` answers `POST /call/<function_id>` (the payload as the"
    yield '  body, sent with `Content-Type: application/json`) with `200 {"result": ...}`, or'
    yield '  with the status below and `{"error": {"code": ..., "message": ...}}`. A body over'
    yield f"  {body_limit:,} bytes ({body_limit / (1 << 20):g} MiB by default, `--max-body-bytes`)"
    yield "  is refused with status 413 before any call; docs/websocket.md lists every other"
    yield "  limit and refusal of the server."
    yield ""
    yield "## Errors"
    yield ""
    yield "| code | HTTP status | when |"
    yield "|---|---|---|"
    undescribed = sorted(set(_STATUS_BY_CODE) - set(ERROR_MEANINGS))
    if undescribed:
        raise SystemExit(f"codegen/reference.py: ERROR_MEANINGS lacks {', '.join(undescribed)}")
    for code, meaning in ERROR_MEANINGS.items():
        yield f"| `{code}` | {_status(code)} | {meaning} |"
    yield f"| any other | {UNKNOWN_CODE_STATUS} | An error of the store itself. |"
    yield ""
    yield "A failing update op is not an error of the call: the op is skipped and reported in the"
    yield f"result's `errors` ([UpdateOpError](#{_anchor('UpdateOpError')})). An unknown function:"
    yield ""
    yield "```"
    yield _request("stream::nope", {})
    yield unknown
    yield "```"
    yield ""


def _result_text(function: Function, example: Example, types: dict[str, Any]) -> str:
    if function.result_type is None:
        return function.result
    # The example's result must decode as the type the page links to.
    result = msgspec.json.decode(example.answer)["result"]
    msgspec.convert(result, types[function.result_type])
    return f"[{function.result_type}](#{_anchor(function.result_type)}): {function.result}"


def _function_section(
    function: Function,
    example: Example,
    schemas: dict[str, dict[str, Any]],
    types: dict[str, Any],
) -> Iterator[str]:
    input_title = type(decode_call(function.function_id, function.example)).__name__
    input_schema = next(
        (doc["$defs"][input_title] for doc in schemas.values() if input_title in doc["$defs"]),
        None,
    )
    if input_schema is None:
        raise SystemExit(f"{function.function_id}: input {input_title} is in no schema")
    yield f'<a id="fn-{function.function_id.replace("::", "-")}"></a>'
    yield f"### `{function.function_id}`"
    yield ""
    yield function.summary
    yield ""
    yield f"**Input**: [{input_title}](#{_anchor(input_title)})"
    yield ""
    yield from _type_body(input_schema)
    yield f"- **Result**: {_result_text(function, example, types)}"
    yield f"- **Change events**: {function.events}"
    codes = ["deserialization_error"] + (["VALUE_TOO_LARGE"] if function.value_limit else [])
    codes.append("STORE_UNAVAILABLE")
    listed = ", ".join(f"`{code}` ({_status(code)})" for code in codes)
    yield f"- **Errors**: {listed}"
    yield ""
    yield "Example (request line, answer line, then the change events it emitted):"
    yield ""
    yield "```"
    yield example.request
    yield example.answer
    yield from (f"event: {event}" for event in example.events)
    yield "```"
    yield ""
    yield "Errors, for example:"
    yield ""
    yield "```"
    for error in _error_examples(function):
        yield error.request
        yield error.answer
    yield "```"
    yield ""


def render(schema_dir: Path) -> str:
    schemas = _load_schemas(schema_dir)
    known = {function.function_id for function in FUNCTIONS}
    missing = sorted((READ_FUNCTIONS | WRITE_FUNCTIONS) - known)
    if missing:
        raise SystemExit(f"codegen/reference.py: FUNCTIONS lacks {', '.join(missing)}")
    examples = _run_examples()
    lines = list(_intro(schemas))
    lines += ["## Functions", ""]
    lines += [
        f"- [`{f.function_id}`](#fn-{f.function_id.replace('::', '-')}): {f.summary}"
        for f in FUNCTIONS
    ]
    lines.append("")
    types = _generated_types(schemas)
    for function in FUNCTIONS:
        lines += _function_section(function, examples[function.function_id], schemas, types)
    lines += [
        "## Wire types",
        "",
        "Field names are the wire names; the Python classes (`iii_core.<module>.<Type>`) use their",
        "snake_case form (`streamName` is `stream_name`). An optional field that is absent stays",
        "absent (`msgspec.UNSET`); an explicit `null` stays `null`.",
        "",
    ]
    for module, document in schemas.items():
        lines += [f"## `iii_core.{module}`", "", " ".join(document["description"].split()), ""]
        for title, schema in document["$defs"].items():
            lines += _type_section(title, schema)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the page is stale")
    parser.add_argument("--schema-dir", type=Path, default=SCHEMA_DIR)
    parser.add_argument("--target", type=Path, default=TARGET)
    args = parser.parse_args(argv)
    page = render(args.schema_dir)
    if not args.check:
        args.target.write_text(page, encoding="utf-8")
        print(f"wrote {args.target}")
        return 0
    current = args.target.read_text(encoding="utf-8") if args.target.exists() else ""
    if current == page:
        print(f"reference: {args.target} matches the schemas and the store")
        return 0
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        page.splitlines(keepends=True),
        f"{args.target} (committed)",
        f"{args.target} (from the schemas and the store)",
    )
    sys.stdout.writelines(diff)
    print(f"{args.target} is stale: run `make codegen` and commit it", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
