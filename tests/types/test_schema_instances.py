"""Schema-valid <=> decodable, for every ``$defs`` entry of every schema in ``schema/``.

Valid instances come from hypothesis-jsonschema; jsonschema (draft 2020-12, cross-file ``$ref``
resolved through the registry) must accept them, the generated type must decode them, and
encoding the result must give back the same JSON (number kinds included), up to the two
documented rules of :func:`tests.types._schemas.wire_normal`: undeclared properties are dropped
and documented defaults are filled in. Invalid instances are made by mutating valid ones (a
required field removed, a field of the wrong type, an unknown ``type`` tag, a root of the wrong
type); jsonschema must reject each, and decoding must fail with msgspec's error naming the field.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.jsonvalues import same_json
from tests.types._schemas import (
    BUNDLE_DEFS,
    DEFS,
    generated,
    instances,
    is_valid,
    object_schema,
    wire_normal,
)

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
IDS = [f"{module}.{name}" for module, name in DEFS]

# Replacement values for the wrong-type mutation, tried in order; the first one the schema
# rejects is used, so a property typed "any JSON value" (`{}`) gets none.
WRONG_VALUES: list[Any] = [12345, "bogus-value", True, None, 1.5, [12345], {"bogus": 12345}, []]
BAD_TAG = "bogus-tag"


def _decode(data: Any, type_: Any) -> Any:
    return msgspec.json.decode(json.dumps(data), type=type_)


@pytest.mark.parametrize(("module", "name"), DEFS, ids=IDS)
@SETTINGS
@given(data=st.data())
def test_valid_instances_decode_and_reencode_to_the_same_json(
    module: str, name: str, data: st.DataObject
) -> None:
    instance = data.draw(instances(module, name), label="instance")
    assert is_valid(module, name, instance)
    type_ = generated(module, name)
    decoded = _decode(instance, type_)
    if isinstance(type_, type):
        assert type(decoded) is type_
    elif (
        isinstance(instance, dict) and "type" in instance and hasattr(decoded, "__struct_config__")
    ):
        # A tagged union decodes to the member named by the tag, never another one.
        assert decoded.__struct_config__.tag == instance["type"]
    encoded = msgspec.json.encode(decoded)
    assert same_json(json.loads(encoded), wire_normal(module, name, instance))
    assert msgspec.json.decode(encoded, type=type_) == decoded


def _union_of(module: str, name: str) -> Any:
    """The discriminated union a tagged Struct is read through on the wire."""
    ref = f"#/$defs/{module}__{name}"
    for key, body in BUNDLE_DEFS.items():
        if any(branch.get("$ref") == ref for branch in body.get("oneOf", [])):
            union_module, union_name = key.split("__")
            return generated(union_module, union_name)
    raise AssertionError(f"{module}.{name} is tagged but in no discriminated union")


Mutation = tuple[str, str | None, Any]  # (kind, wire field or None for the root, instance)


def _mutations(module: str, name: str, instance: Any) -> list[Mutation]:
    out: list[Mutation] = []
    for wrong in WRONG_VALUES:
        if not is_valid(module, name, wrong):
            out.append(("root", None, wrong))
            break
    node = object_schema(module, name, instance)
    if node is None:
        return out
    for key in node.get("required", []):
        out.append(("missing", key, {k: v for k, v in instance.items() if k != key}))
    for key in node["properties"]:
        if key not in instance:
            continue
        for wrong in WRONG_VALUES:
            mutated = {**instance, key: wrong}
            if not is_valid(module, name, mutated):
                out.append(("wrong_type", key, mutated))
                break
    tag = node["properties"].get("type", {})
    if "const" in tag or "enum" in tag:
        out.append(("bad_tag", "type", {**instance, "type": BAD_TAG}))
    return out


@pytest.mark.parametrize(("module", "name"), DEFS, ids=IDS)
@SETTINGS
@given(data=st.data())
def test_invalid_instances_are_rejected_naming_the_field(
    module: str, name: str, data: st.DataObject
) -> None:
    instance = data.draw(instances(module, name), label="instance")
    kind, key, bad = data.draw(st.sampled_from(_mutations(module, name, instance)), label="bad")
    assert not is_valid(module, name, bad)
    type_ = generated(module, name)
    tag_field = getattr(getattr(type_, "__struct_config__", None), "tag_field", None)
    if kind == "missing" and key == tag_field:
        # msgspec reads the tag to choose a member of a union; decoding one tagged Struct on its
        # own needs no tag (the target type already says it). So a missing tag is a decode
        # error where a tag is read: through the union.
        assert _decode(bad, type_) == _decode(instance, type_)
        type_ = _union_of(module, name)
    with pytest.raises(msgspec.ValidationError) as info:
        _decode(bad, type_)
    message = str(info.value)
    if kind == "root":
        assert " - at `" not in message, message
    elif kind == "missing":
        assert message == f"Object missing required field `{key}`"
    else:
        assert key is not None
        assert re.search(rf" - at `\$\.{re.escape(key)}[`.\[]", message), message
