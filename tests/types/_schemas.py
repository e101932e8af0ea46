"""Shared pieces of the type tests: the schemas, validation across files, a bundled copy for
hypothesis-jsonschema, the wire-normal form of an instance, and strict JSON equality.

Rules: the schemas in ``schema/`` are the single source; nothing here restates a field. Validation
uses the schemas as written (cross-file ``$ref`` resolved through their ``$id`` by a
``referencing`` registry), so a broken reference fails here as it would for any user. Generation
uses a bundle of every ``$defs`` entry in one document, with every ``$ref`` rewritten to a local
one, because hypothesis-jsonschema resolves local references only.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any

import referencing
import referencing.jsonschema
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "schema"

# Every documented module and the type names it exports, as the iii helper docs (and, for
# `state`, ../shared/reference/stream-state.md) name them. The tests check this table against
# the schema titles, the generated classes and each public module's `__all__`.
DOCUMENTED: dict[str, frozenset[str]] = {
    "http": frozenset(
        {
            "HttpAuthApiKey",
            "HttpAuthBearer",
            "HttpAuthHmac",
            "HttpAuthConfig",
            "HttpMethod",
            "HttpInvocationConfig",
            "HttpRequest",
            "HttpResponse",
        }
    ),
    "observability": frozenset({"OtelConfig", "ReconnectionConfig"}),
    "queue": frozenset({"EnqueueResult"}),
    "stream": frozenset(
        {
            "MergePath",
            "StreamAuthInput",
            "StreamAuthResult",
            "StreamChangeEvent",
            "StreamChangeEventDetail",
            "StreamCustomEvent",
            "StreamDeleteInput",
            "StreamDeleteResult",
            "StreamGetInput",
            "StreamJoinLeaveEvent",
            "StreamJoinLeaveTriggerConfig",
            "StreamJoinResult",
            "StreamClientMessage",
            "StreamJoinMessage",
            "StreamLeaveMessage",
            "StreamSubscriptionData",
            "StreamListAllInput",
            "StreamListAllResult",
            "StreamListGroupsInput",
            "StreamListInput",
            "StreamMetadata",
            "StreamSendInput",
            "StreamSetInput",
            "StreamSetResult",
            "StreamTriggerConfig",
            "StreamUpdateInput",
            "StreamUpdateResult",
            "UpdateAppend",
            "UpdateDecrement",
            "UpdateIncrement",
            "UpdateMerge",
            "UpdateOp",
            "UpdateOpError",
            "UpdateRemove",
            "UpdateSet",
        }
    ),
    "worker_connection_manager": frozenset(
        {
            "AuthInput",
            "AuthResult",
            "OnFunctionRegistrationInput",
            "OnFunctionRegistrationResult",
            "OnTriggerRegistrationInput",
            "OnTriggerRegistrationResult",
            "OnTriggerTypeRegistrationInput",
            "OnTriggerTypeRegistrationResult",
        }
    ),
    "state": frozenset(
        {
            "StateChangeEvent",
            "StateDeleteInput",
            "StateGetInput",
            "StateListGroupsInput",
            "StateListGroupsResult",
            "StateListInput",
            "StateSetInput",
            "StateTriggerConfig",
            "StateUpdateInput",
        }
    ),
}


def _load() -> dict[str, dict[str, Any]]:
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(SCHEMA_DIR.glob("*.json"))
    }


SCHEMAS: dict[str, dict[str, Any]] = _load()

# (module, $defs name) for every entry of every schema file.
DEFS: list[tuple[str, str]] = [
    (module, name) for module, schema in SCHEMAS.items() for name in schema["$defs"]
]

REGISTRY: referencing.Registry[Any] = referencing.Registry().with_resources(
    (
        schema["$id"],
        referencing.Resource.from_contents(
            schema, default_specification=referencing.jsonschema.DRAFT202012
        ),
    )
    for schema in SCHEMAS.values()
)


@cache
def validator(module: str, name: str) -> Any:
    """A draft 2020-12 validator for ``$defs[name]`` of ``schema/{module}.json``, as written."""
    ref = f"{SCHEMAS[module]['$id']}#/$defs/{name}"
    return Draft202012Validator({"$ref": ref}, registry=REGISTRY)


def is_valid(module: str, name: str, instance: Any) -> bool:
    return bool(validator(module, name).is_valid(instance))


def generated(module: str, name: str) -> Any:
    """The generated class or type alias for ``$defs[name]`` of ``schema/{module}.json``."""
    return getattr(import_module(f"iii_core._generated.{module}"), name)


def def_schema(module: str, name: str) -> dict[str, Any]:
    schema: dict[str, Any] = SCHEMAS[module]["$defs"][name]
    return schema


# ---------------------------------------------------------------------------------------------
# The bundle: every $defs entry of every file in one document, refs made local.


def _key(module: str, name: str) -> str:
    return f"{module}__{name}"


def _rewrite(node: Any, module: str) -> Any:
    if isinstance(node, list):
        return [_rewrite(item, module) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref":
            target, _, pointer = value.partition("#/$defs/")
            target_module = Path(target).stem if target else module
            assert target_module in SCHEMAS, f"unresolvable $ref {value!r} in {module}.json"
            out[key] = f"#/$defs/{_key(target_module, pointer)}"
        elif key == "discriminator":
            continue  # an OpenAPI keyword: the `const` tags already say the same thing
        else:
            out[key] = _rewrite(value, module)
    return out


BUNDLE_DEFS: dict[str, Any] = {
    _key(module, name): _rewrite(body, module)
    for module, schema in SCHEMAS.items()
    for name, body in schema["$defs"].items()
}


def bundled(module: str, name: str) -> dict[str, Any]:
    """A self-contained schema for one def: every def inline, the root a local ``$ref``."""
    return {"$defs": BUNDLE_DEFS, "$ref": f"#/$defs/{_key(module, name)}"}


@cache
def instances(module: str, name: str) -> st.SearchStrategy[Any]:
    """Instances of one def, generated by hypothesis-jsonschema from the schema."""
    strategy: st.SearchStrategy[Any] = from_schema(bundled(module, name))
    return strategy


# ---------------------------------------------------------------------------------------------
# The wire-normal form: what decoding an instance and encoding it again must give.


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = BUNDLE_DEFS[node["$ref"].removeprefix("#/$defs/")]
    return node


_BRANCH_VALIDATORS: dict[int, Any] = {}


def _matches(value: Any, node: dict[str, Any]) -> bool:
    # Keyed by identity: every node lives in BUNDLE_DEFS for the whole session.
    check = _BRANCH_VALIDATORS.get(id(node))
    if check is None:
        check = Draft202012Validator({"$defs": BUNDLE_DEFS, **node})
        _BRANCH_VALIDATORS[id(node)] = check
    return bool(check.is_valid(value))


def wire_normal(module: str, name: str, instance: Any) -> Any:
    """``instance`` as the generated type re-encodes it, derived from the schema alone.

    Two rules, both documented: properties a schema object does not declare are dropped (the
    engine's serde and WireStruct ignore unknown fields), and an absent property with a schema
    ``default`` is filled in with it (decoding and construction apply documented defaults).
    Everything else (``null`` included) is kept exactly; maps and any-JSON values are untouched.
    """
    return _normal(instance, BUNDLE_DEFS[_key(module, name)])


def _normal(value: Any, node: dict[str, Any]) -> Any:
    node = _resolve(node)
    for keyword in ("oneOf", "anyOf"):
        if keyword in node:
            branches = [b for b in node[keyword] if _matches(value, b)]
            assert branches, "wire_normal() needs a valid instance"
            if keyword == "oneOf":
                assert len(branches) == 1, f"oneOf matched {len(branches)} branches"
            return _normal(value, branches[0])
    if isinstance(value, dict) and "properties" in node:
        props: dict[str, Any] = node["properties"]
        out = {k: _normal(v, props[k]) for k, v in value.items() if k in props}
        for key, prop in props.items():
            if key not in value and "default" in prop:
                out[key] = copy.deepcopy(prop["default"])
        return out
    if isinstance(value, dict) and isinstance(node.get("additionalProperties"), dict):
        return {k: _normal(v, node["additionalProperties"]) for k, v in value.items()}
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        return [_normal(v, node["items"]) for v in value]
    return value


def object_schema(module: str, name: str, instance: Any) -> dict[str, Any] | None:
    """The object schema ``instance`` is checked against (the tagged member for a union)."""
    node = _resolve(BUNDLE_DEFS[_key(module, name)])
    if "oneOf" in node and isinstance(instance, dict):
        tagged = [
            b
            for b in node["oneOf"]
            if _resolve(b)["properties"]["type"]["const"] == instance.get("type")
        ]
        assert len(tagged) == 1
        node = _resolve(tagged[0])
    return node if "properties" in node else None
