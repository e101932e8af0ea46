"""The registration prefix (added on register, stripped on dispatch) and applying a registration
hook's result, as the engine does both."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from iii_core import decode, encode
from iii_core.worker_connection_manager import (
    AuthResult,
    OnFunctionRegistrationInput,
    OnFunctionRegistrationResult,
    OnTriggerRegistrationInput,
    OnTriggerRegistrationResult,
    OnTriggerTypeRegistrationInput,
    OnTriggerTypeRegistrationResult,
    add_registration_prefix,
    apply_function_registration_result,
    apply_trigger_registration_result,
    apply_trigger_type_registration_result,
    strip_registration_prefix,
)
from tests.http._published import json_values, objects, text
from tests.worker_connection_manager.strategies import function_ids, segments

prefixes = st.one_of(st.none(), st.just(msgspec.UNSET), segments, text)


def test_prefix_cases() -> None:
    # The rbac tests' "test-prefix" session, and the docs' "tenant_a::greet".
    assert add_registration_prefix("greet", "tenant_a") == "tenant_a::greet"
    assert strip_registration_prefix("tenant_a::greet", "tenant_a") == "greet"
    assert strip_registration_prefix("other::greet", "tenant_a") == "other::greet"
    assert add_registration_prefix("tenant_a::greet", "tenant_a") == "tenant_a::tenant_a::greet"
    assert add_registration_prefix("f", "holder::") == "holder::::f"  # taken as given
    assert add_registration_prefix("f", "") == "::f"
    for absent in (None, msgspec.UNSET):
        assert add_registration_prefix("f", absent) == "f"
        assert strip_registration_prefix("t::f", absent) == "t::f"
    session = AuthResult(function_registration_prefix="test-prefix")
    registered = add_registration_prefix("echo", session.function_registration_prefix)
    assert registered == "test-prefix::echo"
    assert strip_registration_prefix(registered, session.function_registration_prefix) == "echo"


@given(function_ids, prefixes)
@settings(max_examples=300, deadline=None)
def test_strip_undoes_add(function_id: str, prefix: Any) -> None:
    assert (
        strip_registration_prefix(add_registration_prefix(function_id, prefix), prefix)
        == function_id
    )


@given(function_ids, prefixes)
@settings(max_examples=300, deadline=None)
def test_add_undoes_strip_for_ids_that_carry_the_prefix(function_id: str, prefix: Any) -> None:
    stripped = strip_registration_prefix(function_id, prefix)
    if isinstance(prefix, str) and function_id.startswith(f"{prefix}::"):
        assert add_registration_prefix(stripped, prefix) == function_id
    else:
        assert stripped == function_id


# --- hook results ------------------------------------------------------------------------------

FUNCTION = OnFunctionRegistrationInput(
    function_id="myfn", description="d", metadata={"public": True}, context={"user_id": "u"}
)
TRIGGER = OnTriggerRegistrationInput(
    trigger_id="t1", trigger_type="http", function_id="myfn", config={"api_path": "/a"},
    metadata={"m": 1}, context={"user_id": "u"},
)  # fmt: skip
TRIGGER_TYPE = OnTriggerTypeRegistrationInput(
    trigger_type_id="webhook", description="d", context={"user_id": "u"}
)


def result(cls: Any, wire: str) -> Any:
    return decode(wire, cls)


def test_function_hook() -> None:
    apply = apply_function_registration_result
    assert apply(FUNCTION, result(OnFunctionRegistrationResult, "{}")) == FUNCTION
    assert (
        apply(
            FUNCTION,
            result(OnFunctionRegistrationResult, '{"function_id": null, "description": null}'),
        )
        == FUNCTION
    )
    mapped = apply(
        FUNCTION,
        result(
            OnFunctionRegistrationResult,
            '{"function_id": "x", "description": "e", "metadata": {"a": 1}}',
        ),
    )
    assert (mapped.function_id, mapped.description, mapped.metadata, mapped.context) == (
        "x", "e", {"a": 1}, {"user_id": "u"},
    )  # fmt: skip
    # The engine replaces metadata whenever the key is there: null clears it.
    cleared = apply(FUNCTION, result(OnFunctionRegistrationResult, '{"metadata": null}'))
    assert cleared.metadata is None


def test_the_published_models_dump_clears_metadata_and_config() -> None:
    # An SDK hook returning `OnFunctionRegistrationResult(...).model_dump()` sends every field,
    # nulls included; the engine then clears metadata (and a trigger's config).
    from iii_helpers import worker_connection_manager as published

    dumped = json.dumps(published.OnFunctionRegistrationResult(function_id="x").model_dump())
    assert apply_function_registration_result(
        FUNCTION, decode(dumped, OnFunctionRegistrationResult)
    ) == OnFunctionRegistrationInput(
        function_id="x", description="d", metadata=None, context={"user_id": "u"}
    )
    dumped = json.dumps(published.OnTriggerRegistrationResult(trigger_id="t2").model_dump())
    mapped = apply_trigger_registration_result(TRIGGER, decode(dumped, OnTriggerRegistrationResult))
    assert (mapped.trigger_id, mapped.config) == ("t2", None)


def test_trigger_hook() -> None:
    apply = apply_trigger_registration_result
    assert apply(TRIGGER, result(OnTriggerRegistrationResult, "{}")) == TRIGGER
    mapped = apply(
        TRIGGER,
        result(
            OnTriggerRegistrationResult,
            '{"trigger_id": "t2", "trigger_type": "cron", "function_id": "f2", "config": [1]}',
        ),
    )
    assert (mapped.trigger_id, mapped.trigger_type, mapped.function_id, mapped.config) == (
        "t2", "cron", "f2", [1],
    )  # fmt: skip
    assert mapped.metadata == {"m": 1}  # the hook cannot map metadata
    assert apply(TRIGGER, result(OnTriggerRegistrationResult, '{"config": null}')).config is None
    # then the session prefix applies to the function the trigger refers to
    assert add_registration_prefix(mapped.function_id, "tenant") == "tenant::f2"


def test_trigger_type_hook() -> None:
    apply = apply_trigger_type_registration_result
    assert (
        apply(TRIGGER_TYPE, result(OnTriggerTypeRegistrationResult, '{"description": null}'))
        == TRIGGER_TYPE
    )
    mapped = apply(
        TRIGGER_TYPE,
        result(OnTriggerTypeRegistrationResult, '{"trigger_type_id": "w2", "description": "e"}'),
    )
    assert (mapped.trigger_type_id, mapped.description) == ("w2", "e")


maybe_text = st.one_of(st.just(msgspec.UNSET), st.none(), text)
maybe_object = st.one_of(st.just(msgspec.UNSET), st.none(), objects)
maybe_json = st.one_of(st.just(msgspec.UNSET), json_values)


def _kept(mapped: Any, original: Any) -> Any:
    return mapped if isinstance(mapped, str) else original


def _replaced(mapped: Any, original: Any) -> Any:
    return original if mapped is msgspec.UNSET else mapped


def _round_trips(value: Any) -> None:
    assert decode(encode(value), type(value)) == value


@given(
    st.builds(
        OnFunctionRegistrationInput,
        function_id=text, description=maybe_text, metadata=maybe_object, context=objects,
    ),
    st.builds(OnFunctionRegistrationResult, function_id=maybe_text, description=maybe_text, metadata=maybe_object),
)  # fmt: skip
@settings(max_examples=200, deadline=None)
def test_function_hook_model(registration: Any, hook: Any) -> None:
    before = (encode(registration), encode(hook))
    mapped = apply_function_registration_result(registration, hook)
    assert (encode(registration), encode(hook)) == before
    assert mapped == OnFunctionRegistrationInput(
        function_id=_kept(hook.function_id, registration.function_id),
        description=_kept(hook.description, registration.description),
        metadata=_replaced(hook.metadata, registration.metadata),
        context=registration.context,
    )
    _round_trips(mapped)


@given(
    st.builds(
        OnTriggerRegistrationInput,
        trigger_id=text, trigger_type=text, function_id=text, config=maybe_json,
        metadata=maybe_object, context=objects,
    ),
    st.builds(
        OnTriggerRegistrationResult,
        trigger_id=maybe_text, trigger_type=maybe_text, function_id=maybe_text, config=maybe_json,
    ),
)  # fmt: skip
@settings(max_examples=200, deadline=None)
def test_trigger_hook_model(registration: Any, hook: Any) -> None:
    before = (encode(registration), encode(hook))
    mapped = apply_trigger_registration_result(registration, hook)
    assert (encode(registration), encode(hook)) == before
    assert encode(mapped) == encode(
        OnTriggerRegistrationInput(
            trigger_id=_kept(hook.trigger_id, registration.trigger_id),
            trigger_type=_kept(hook.trigger_type, registration.trigger_type),
            function_id=_kept(hook.function_id, registration.function_id),
            config=_replaced(hook.config, registration.config),
            metadata=registration.metadata,
            context=registration.context,
        )
    )
    _round_trips(mapped)


@given(
    st.builds(
        OnTriggerTypeRegistrationInput, trigger_type_id=text, description=text, context=objects
    ),
    st.builds(OnTriggerTypeRegistrationResult, trigger_type_id=maybe_text, description=maybe_text),
)
@settings(max_examples=200, deadline=None)
def test_trigger_type_hook_model(registration: Any, hook: Any) -> None:
    mapped = apply_trigger_type_registration_result(registration, hook)
    assert mapped == OnTriggerTypeRegistrationInput(
        trigger_type_id=_kept(hook.trigger_type_id, registration.trigger_type_id),
        description=_kept(hook.description, registration.description),
        context=registration.context,
    )
    _round_trips(mapped)
