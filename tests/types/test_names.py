"""Every documented type exists once: a schema ``$defs`` entry titled with its documented name, a
generated class (or type alias) of that name, and a re-export from its public module.

The table ``DOCUMENTED`` (in ``_schemas``) is checked against all three, both ways, so a schema
without a class, a class without a schema, or an export without either fails.
"""

from __future__ import annotations

import typing
from importlib import import_module
from types import ModuleType
from typing import Any

import msgspec
import pytest

from iii_core._base import WireStruct
from iii_core.http import (
    HttpAuthApiKey,
    HttpAuthBearer,
    HttpAuthConfig,
    HttpAuthHmac,
    HttpInvocationConfig,
    HttpMethod,
    HttpRequest,
    HttpResponse,
)
from iii_core.observability import OtelConfig, ReconnectionConfig
from iii_core.queue import EnqueueResult
from iii_core.state import (
    StateChangeEvent,
    StateDeleteInput,
    StateGetInput,
    StateListGroupsInput,
    StateListGroupsResult,
    StateListInput,
    StateSetInput,
    StateTriggerConfig,
    StateUpdateInput,
)
from iii_core.stream import (
    MergePath,
    StreamAuthInput,
    StreamAuthResult,
    StreamChangeEvent,
    StreamChangeEventDetail,
    StreamClientMessage,
    StreamCustomEvent,
    StreamDeleteInput,
    StreamDeleteResult,
    StreamGetInput,
    StreamJoinLeaveEvent,
    StreamJoinLeaveTriggerConfig,
    StreamJoinMessage,
    StreamJoinResult,
    StreamLeaveMessage,
    StreamListAllInput,
    StreamListAllResult,
    StreamListGroupsInput,
    StreamListInput,
    StreamMetadata,
    StreamSendInput,
    StreamSetInput,
    StreamSetResult,
    StreamSubscriptionData,
    StreamTriggerConfig,
    StreamUpdateInput,
    StreamUpdateResult,
    UpdateAppend,
    UpdateDecrement,
    UpdateIncrement,
    UpdateMerge,
    UpdateOp,
    UpdateOpError,
    UpdateRemove,
    UpdateSet,
)
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
from tests.types._schemas import DOCUMENTED, SCHEMAS

STATIC: dict[str, list[Any]] = {
    "http": [
        HttpAuthApiKey,
        HttpAuthBearer,
        HttpAuthConfig,
        HttpAuthHmac,
        HttpInvocationConfig,
        HttpMethod,
        HttpRequest,
        HttpResponse,
    ],
    "observability": [OtelConfig, ReconnectionConfig],
    "queue": [EnqueueResult],
    "state": [
        StateChangeEvent,
        StateDeleteInput,
        StateGetInput,
        StateListGroupsInput,
        StateListGroupsResult,
        StateListInput,
        StateSetInput,
        StateTriggerConfig,
        StateUpdateInput,
    ],
    "stream": [
        MergePath,
        StreamAuthInput,
        StreamAuthResult,
        StreamChangeEvent,
        StreamChangeEventDetail,
        StreamCustomEvent,
        StreamDeleteInput,
        StreamDeleteResult,
        StreamGetInput,
        StreamJoinLeaveEvent,
        StreamJoinLeaveTriggerConfig,
        StreamJoinResult,
        StreamClientMessage,
        StreamJoinMessage,
        StreamLeaveMessage,
        StreamSubscriptionData,
        StreamListAllInput,
        StreamListAllResult,
        StreamListGroupsInput,
        StreamListInput,
        StreamMetadata,
        StreamSendInput,
        StreamSetInput,
        StreamSetResult,
        StreamTriggerConfig,
        StreamUpdateInput,
        StreamUpdateResult,
        UpdateAppend,
        UpdateDecrement,
        UpdateIncrement,
        UpdateMerge,
        UpdateOp,
        UpdateOpError,
        UpdateRemove,
        UpdateSet,
    ],
    "worker_connection_manager": [
        AuthInput,
        AuthResult,
        OnFunctionRegistrationInput,
        OnFunctionRegistrationResult,
        OnTriggerRegistrationInput,
        OnTriggerRegistrationResult,
        OnTriggerTypeRegistrationInput,
        OnTriggerTypeRegistrationResult,
    ],
}

MODULES = sorted(DOCUMENTED)


def test_every_schema_file_is_a_documented_module() -> None:
    assert set(SCHEMAS) == set(DOCUMENTED)


@pytest.mark.parametrize("module", MODULES)
def test_schema_conventions(module: str) -> None:
    schema = SCHEMAS[module]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://iii-core.dev/schema/{module}.json"
    assert schema["description"]
    for key, body in schema["$defs"].items():
        assert body["title"] == key, f"{module}.json $defs/{key} has title {body.get('title')!r}"
        assert body["description"], f"{module}.json $defs/{key} has no description"


@pytest.mark.parametrize("module", MODULES)
def test_schema_titles_are_the_documented_names(module: str) -> None:
    titles = {body["title"] for body in SCHEMAS[module]["$defs"].values()}
    assert titles == DOCUMENTED[module]


def _generated_names(generated: ModuleType) -> set[str]:
    """Names of the classes and titled type aliases a generated module defines."""
    names = set()
    for name, obj in vars(generated).items():
        if isinstance(obj, type) and issubclass(obj, WireStruct):
            if obj.__module__ == generated.__name__:
                names.add(name)
        elif typing.get_origin(obj) is typing.Annotated:
            metas = [m for m in obj.__metadata__ if isinstance(m, msgspec.Meta)]
            assert metas and metas[0].title == name, f"{generated.__name__}.{name}"
            names.add(name)
    return names


@pytest.mark.parametrize("module", MODULES)
def test_generated_module_has_one_definition_per_schema_entry(module: str) -> None:
    generated = import_module(f"iii_core._generated.{module}")
    assert _generated_names(generated) == DOCUMENTED[module]


@pytest.mark.parametrize("module", MODULES)
def test_public_module_reexports_every_documented_type(module: str) -> None:
    # The modules also export the documented functions (http(), redact(), ...); every type they
    # export is the generated class, never a redeclaration.
    public = import_module(f"iii_core.{module}")
    generated = import_module(f"iii_core._generated.{module}")
    assert public.__doc__
    assert set(DOCUMENTED[module]) <= set(public.__all__)
    for name in public.__all__:
        obj = getattr(public, name)
        if isinstance(obj, type) and issubclass(obj, msgspec.Struct):
            assert obj.__module__.startswith("iii_core._generated."), f"{module}.{name}"
    for name in DOCUMENTED[module]:
        assert getattr(public, name) is getattr(generated, name), f"iii_core.{module}.{name}"


def _name(obj: Any) -> str:
    if isinstance(obj, type):
        return obj.__name__
    metas = [m for m in obj.__metadata__ if isinstance(m, msgspec.Meta)]
    return str(metas[0].title)


@pytest.mark.parametrize("module", MODULES)
def test_documented_names_import_statically(module: str) -> None:
    # The plain import statements at the top of this file are the ones users write (and mypy
    # checks); the table below them must cover every documented name.
    public = import_module(f"iii_core.{module}")
    objects = STATIC[module]
    assert sorted(_name(obj) for obj in objects) == sorted(DOCUMENTED[module])
    for obj in objects:
        assert getattr(public, _name(obj)) is obj
