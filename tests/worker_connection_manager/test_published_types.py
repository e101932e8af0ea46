"""The JSON forms of the ``worker_connection_manager`` types against the installed iii-helpers
(pydantic) on generated inputs, and the shared conformance vector of ``AuthResult``.

The dev extra pins iii-helpers 0.20.0, which has no ``namespaces``/``namespace``: against it the
inputs leave those fields out and iii-core's form must be 0.20.0's plus their defaults. Against
0.23.0 or later (``docs/http-and-workers.md`` says how to run this file there) they are
generated and compared like every other field."""

from __future__ import annotations

import json
from typing import Any

import iii_helpers.worker_connection_manager as published
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iii_core import decode, encode
from iii_core.worker_connection_manager import (
    AuthInput,
    AuthResult,
    OnFunctionRegistrationInput,
    OnFunctionRegistrationResult,
    OnTriggerRegistrationInput,
    OnTriggerRegistrationResult,
    OnTriggerTypeRegistrationInput,
    OnTriggerTypeRegistrationResult,
)
from tests.conformance.vectors import helpers_vectors
from tests.http._published import (
    assert_same_json_form,
    json_values,
    near,
    objects,
    string_lists,
    string_maps,
    text,
)

AUTH_RESULT_DEFAULTS: dict[str, Any] = {  # helpers.json "AuthResult().model_dump()-01"
    "allowed_functions": [],
    "forbidden_functions": [],
    "allowed_trigger_types": None,
    "allow_trigger_type_registration": False,
    "allow_function_registration": True,
    "function_registration_prefix": None,
    "context": {},
}
SETTINGS = settings(max_examples=150, deadline=None)
maybe_text = st.one_of(st.none(), text)
maybe_object = st.one_of(st.none(), objects)

CASES: list[tuple[type, Any, dict[str, st.SearchStrategy[Any]], tuple[str, ...]]] = [
    (
        AuthInput,
        published.AuthInput,
        {
            "headers": string_maps,
            "query_params": st.dictionaries(text, string_lists, max_size=3),
            "ip_address": text,
        },
        (),
    ),
    (
        AuthResult,
        published.AuthResult,
        {
            "allowed_functions": string_lists,
            "forbidden_functions": string_lists,
            "allowed_trigger_types": st.one_of(st.none(), string_lists),
            "allow_trigger_type_registration": st.booleans(),
            "allow_function_registration": st.booleans(),
            "function_registration_prefix": maybe_text,
            "context": objects,
        },
        ("allowed_trigger_types", "function_registration_prefix"),
    ),
    (
        OnFunctionRegistrationInput,
        published.OnFunctionRegistrationInput,
        {
            "function_id": text,
            "description": maybe_text,
            "metadata": maybe_object,
            "context": objects,
        },
        ("description", "metadata"),
    ),
    (
        OnFunctionRegistrationResult,
        published.OnFunctionRegistrationResult,
        {"function_id": maybe_text, "description": maybe_text, "metadata": maybe_object},
        ("function_id", "description", "metadata"),
    ),
    (
        OnTriggerRegistrationInput,
        published.OnTriggerRegistrationInput,
        {
            "trigger_id": text,
            "trigger_type": text,
            "function_id": text,
            "config": json_values,
            "metadata": maybe_object,
            "context": objects,
        },
        ("config", "metadata"),
    ),
    (
        OnTriggerRegistrationResult,
        published.OnTriggerRegistrationResult,
        {
            "trigger_id": maybe_text,
            "trigger_type": maybe_text,
            "function_id": maybe_text,
            "config": json_values,
        },
        ("trigger_id", "trigger_type", "function_id", "config"),
    ),
    (
        OnTriggerTypeRegistrationInput,
        published.OnTriggerTypeRegistrationInput,
        {"trigger_type_id": text, "description": text, "context": objects},
        (),
    ),
    (
        OnTriggerTypeRegistrationResult,
        published.OnTriggerTypeRegistrationResult,
        {"trigger_type_id": maybe_text, "description": maybe_text},
        ("trigger_type_id", "description"),
    ),
]


# Fields the engine reads since iii bacffa0d (iii-helpers 0.23.0): their values and defaults.
LATER_FIELDS: dict[type, dict[str, tuple[st.SearchStrategy[Any], Any]]] = {
    AuthResult: {"namespaces": (st.dictionaries(text, string_lists, max_size=3), {})},
    OnFunctionRegistrationInput: {"namespace": (text, "default")},
    OnTriggerRegistrationInput: {"namespace": (text, "default")},
}


@pytest.mark.parametrize(
    ("cls", "model", "fields", "none_defaults"), CASES, ids=[c[0].__name__ for c in CASES]
)
def test_json_form_matches_the_published_model(
    cls: type, model: Any, fields: dict[str, Any], none_defaults: tuple[str, ...]
) -> None:
    later = LATER_FIELDS.get(cls, {})
    published_has = {name for name in later if name in model.model_fields}
    missing = {name: default for name, (_, default) in later.items() if name not in published_has}
    strategies = {**fields, **{name: later[name][0] for name in published_has}}

    def with_later_defaults(dump: Any, data: Any) -> Any:
        return {**dump, **missing} if isinstance(dump, dict) else dump

    @given(near(strategies))
    @SETTINGS
    def check(data: dict[str, Any]) -> None:
        assert_same_json_form(
            cls, model, data, none_defaults=none_defaults, published_output=with_later_defaults
        )

    check()


REQUIRED: dict[type, dict[str, Any]] = {
    AuthResult: {},
    OnFunctionRegistrationInput: {"function_id": "f", "context": {}},
    OnTriggerRegistrationInput: {
        "trigger_id": "t",
        "trigger_type": "http",
        "function_id": "f",
        "context": {},
    },
}


@pytest.mark.parametrize("cls", list(LATER_FIELDS), ids=lambda cls: cls.__name__)
def test_later_fields_round_trip(cls: type) -> None:
    required = REQUIRED[cls]
    for name, (_, default) in LATER_FIELDS[cls].items():
        assert json.loads(encode(decode(json.dumps(required), cls)))[name] == default
        value: Any = {"orders": ["svc::*", 'match("a")'], "": []} if default == {} else "orders"
        data = {**required, name: value}
        assert json.loads(encode(decode(json.dumps(data), cls))) == json.loads(
            encode(decode(encode(decode(json.dumps(data), cls)), cls))
        )
        assert json.loads(encode(decode(json.dumps(data), cls)))[name] == value


def test_auth_result_defaults_vector() -> None:
    vector = helpers_vectors()["AuthResult().model_dump()-01"]
    assert vector["expected"] == AUTH_RESULT_DEFAULTS
    assert published.AuthResult().model_dump() == {
        **AUTH_RESULT_DEFAULTS,
        **({"namespaces": {}} if "namespaces" in published.AuthResult.model_fields else {}),
    }
    # Ours: the same defaults plus the engine's `namespaces: {}`; the None defaults are absent
    # (README "Absent stays absent").
    assert json.loads(encode(AuthResult())) == {
        "namespaces": {},
        **{k: v for k, v in AUTH_RESULT_DEFAULTS.items() if v is not None},
    }
