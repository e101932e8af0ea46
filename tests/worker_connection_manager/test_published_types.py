"""The JSON forms of the ``worker_connection_manager`` types against iii-helpers 0.20.0
(pydantic) on generated inputs, and the shared conformance vector of ``AuthResult``."""

from __future__ import annotations

import json
from typing import Any

import iii_helpers.worker_connection_manager as published
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iii_core import encode
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
            "namespaces": st.dictionaries(text, string_lists),  # a later field: ignored by both
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


@pytest.mark.parametrize(
    ("cls", "model", "fields", "none_defaults"), CASES, ids=[c[0].__name__ for c in CASES]
)
def test_json_form_matches_the_published_model(
    cls: type, model: Any, fields: dict[str, Any], none_defaults: tuple[str, ...]
) -> None:
    @given(near(fields))
    @SETTINGS
    def check(data: dict[str, Any]) -> None:
        assert_same_json_form(cls, model, data, none_defaults=none_defaults)

    check()


def test_auth_result_defaults_vector() -> None:
    vector = helpers_vectors()["AuthResult().model_dump()-01"]
    assert vector["expected"] == AUTH_RESULT_DEFAULTS == published.AuthResult().model_dump()
    # Ours: the same defaults; the None defaults are absent (README "Absent stays absent").
    assert json.loads(encode(AuthResult())) == {
        k: v for k, v in AUTH_RESULT_DEFAULTS.items() if v is not None
    }
