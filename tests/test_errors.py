"""The error model: every exception iii-core exports derives from ``IIICoreError``, carries a code
from ``ErrorCode``, shows it in ``str()``, and no module spells a code as a string literal."""

from __future__ import annotations

import ast
import asyncio
import importlib
import json
import pickle
import pkgutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import redis

import iii_core
from iii_core.backends import MemoryStore
from iii_core.backends.redis import RedisStore
from iii_core.errors import BAD_INPUT_CODES, ErrorCode, IIICoreError
from iii_core.state import StateSetInput
from iii_core.store import READ_FUNCTIONS, WRITE_FUNCTIONS, InvalidStoreCall, StoreCallError
from iii_core.update import InvalidOps, InvalidUpdateJSON, apply_update_ops
from tests.backends.test_durable_log_faults import small_disk
from tests.loopback import free_port
from tests.redis_server import RedisServer

__all__ = ["small_disk"]  # the 256 KiB tmpfs fixture of the log's fault tests

SRC = Path(iii_core.__file__).parent


def _modules() -> list[ModuleType]:
    names = [info.name for info in pkgutil.walk_packages(iii_core.__path__, "iii_core.")]
    return [iii_core, *(importlib.import_module(name) for name in names)]


def _exported_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module in _modules():
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            if isinstance(value, type) and issubclass(value, BaseException):
                found[f"{module.__name__}.{name}"] = value
        # Public classes defined in a module count even when no __all__ lists them.
        for name, value in vars(module).items():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
                and not name.startswith("_")
            ):
                found[f"{module.__name__}.{name}"] = value
    return found


def test_the_walk_finds_the_known_exceptions() -> None:
    names = {cls.__name__ for cls in _exported_exceptions().values()}
    assert {
        "InvalidOps",
        "InvalidUpdateJSON",
        "StoreCallError",
        "ClientDisconnected",
        "ResponseClosed",
        "UnknownConnection",
        "ConnectionAlreadyOpen",
        "InvalidFunctionFilter",
        "OtelConfigError",
        "NonStringKeyError",
    } <= names


@pytest.mark.parametrize("where", sorted(_exported_exceptions()))
def test_every_exported_exception_derives_from_iiicoreerror(where: str) -> None:
    cls = _exported_exceptions()[where]
    assert issubclass(cls, IIICoreError), f"{where} does not derive from IIICoreError"
    if cls not in (IIICoreError, StoreCallError, InvalidStoreCall):
        # A store call error's code is per instance; every other class names its own.
        assert cls.code in set(ErrorCode), f"{where}.code is not an ErrorCode"
        assert issubclass(cls, ValueError) == (cls.code in BAD_INPUT_CODES), (
            f"{where}: a ValueError exactly when its code is bad input"
        )


@pytest.mark.parametrize(
    "cls",
    [InvalidOps, InvalidUpdateJSON, InvalidStoreCall]
    + [
        importlib.import_module(module).__dict__[name]
        for module, name in [
            ("iii_core.worker_connection_manager", "InvalidFunctionFilter"),
            ("iii_core.observability", "OtelConfigError"),
            ("iii_core.subscriptions", "ConnectionAlreadyOpen"),
        ]
    ],
)
def test_bad_input_errors_are_value_errors(cls: type[IIICoreError]) -> None:
    assert issubclass(cls, ValueError)


def test_str_shows_the_code_and_the_wire_fields_stay_apart() -> None:
    error = StoreCallError(ErrorCode.FUNCTION_NOT_FOUND, "Function x not found")
    assert (error.code, error.message) == ("function_not_found", "Function x not found")
    assert str(error) == "Function x not found [function_not_found]"
    assert isinstance(error, IIICoreError)
    with pytest.raises(InvalidOps) as caught:
        apply_update_ops({}, [{"type": "increment", "path": "a", "by": "1"}])
    assert caught.value.code == "deserialization_error"
    assert caught.value.message == 'ops[0].by: invalid type: string "1", expected i64'
    assert str(caught.value) == f"{caught.value.message} [deserialization_error]"


def test_errors_survive_pickling_with_their_fields() -> None:
    for error in (
        StoreCallError(ErrorCode.VALUE_TOO_LARGE, "too big"),
        StoreCallError(ErrorCode.STORE_UNAVAILABLE, "Redis is unavailable"),
        InvalidOps(3, "by", "missing field `by`"),
        InvalidUpdateJSON("ops is not valid JSON"),
    ):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert (copy.code, copy.message, str(copy)) == (error.code, error.message, str(error))


def test_codes_are_unique_and_spelled_once() -> None:
    values = [code.value for code in ErrorCode]
    assert len(values) == len(set(values))
    codes = set(values)
    offenders = []
    for path in SRC.rglob("*.py"):
        if path == SRC / "errors.py" or "_generated" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        # `__all__` lists names (store/_errors.py exports a constant named VALUE_TOO_LARGE).
        exported = {
            id(constant)
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            and any(
                isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
            )
            for constant in ast.walk(node.value)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in codes and id(node) not in exported:
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno} {node.value!r}")
    assert offenders == [], "spell these with ErrorCode"


# -- store calls: a ValueError exactly when the caller's input is wrong ----------------------------

_ENTRIES: dict[str, Callable[[MemoryStore, str, Any], Any]] = {
    "call": lambda store, function_id, payload: store.call(function_id, payload),
    "call_json": lambda store, function_id, payload: store.call_json(
        function_id, json.dumps(payload)
    ),
    "async call": lambda store, function_id, payload: asyncio.run(
        store.as_async().call(function_id, payload)
    ),
    "async call_json": lambda store, function_id, payload: asyncio.run(
        store.as_async().call_json(function_id, json.dumps(payload))
    ),
}


def _refused(entry: str, function_id: str, payload: Any, **options: Any) -> StoreCallError:
    with MemoryStore(**options) as store, pytest.raises(StoreCallError) as raised:
        _ENTRIES[entry](store, function_id, payload)
    return raised.value


def _is_bad_input(error: StoreCallError, code: str) -> None:
    assert error.code == code
    assert isinstance(error, ValueError) and isinstance(error, InvalidStoreCall)
    # The class follows the code through pickling too (errors cross process boundaries).
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.code, copy.message) == (InvalidStoreCall, error.code, error.message)


@pytest.mark.parametrize("entry", sorted(_ENTRIES))
@pytest.mark.parametrize("function_id", sorted(READ_FUNCTIONS | WRITE_FUNCTIONS))
def test_a_malformed_payload_is_a_value_error(entry: str, function_id: str) -> None:
    error = _refused(entry, function_id, 42)
    _is_bad_input(error, ErrorCode.DESERIALIZATION_ERROR)
    assert error.message.startswith(f"Failed to deserialize input for {function_id}: ")
    # Too deep for the engine's parser: the same code and class.
    deep: Any = 0
    for _ in range(200):
        deep = [deep]
    _is_bad_input(_refused(entry, function_id, deep), ErrorCode.DESERIALIZATION_ERROR)


@pytest.mark.parametrize("entry", sorted(_ENTRIES))
def test_an_unknown_function_and_a_too_large_value_are_value_errors(entry: str) -> None:
    error = _refused(entry, "state::nope", {})
    _is_bad_input(error, ErrorCode.FUNCTION_NOT_FOUND)
    assert error.message == "Function state::nope not found"
    payload = {"scope": "s", "key": "k", "value": "x" * 40}
    error = _refused(entry, "state::set", payload, max_value_bytes=16)
    _is_bad_input(error, ErrorCode.VALUE_TOO_LARGE)
    assert error.message == ("value of 42 bytes exceeds the configured max_value_bytes limit of 16")


def test_the_typed_methods_raise_the_same_value_error() -> None:
    with MemoryStore(max_value_bytes=16) as store, pytest.raises(ValueError) as raised:
        store.state_set(StateSetInput(scope="s", key="k", value="x" * 40))
    assert isinstance(raised.value, InvalidStoreCall)
    assert raised.value.code == ErrorCode.VALUE_TOO_LARGE
    with MemoryStore() as store:  # and the refused call changed nothing
        assert store.call("state::list", {"scope": "s"}) == []


def _is_a_fault(error: StoreCallError, code: str) -> None:
    assert error.code == code
    assert type(error) is StoreCallError and not isinstance(error, ValueError)
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.code, copy.message) == (StoreCallError, error.code, error.message)


def test_unreachable_redis_is_a_fault_not_a_value_error() -> None:
    with (
        RedisStore.from_url(f"redis://127.0.0.1:{free_port()}/0") as store,
        pytest.raises(StoreCallError) as raised,
    ):
        store.call("state::get", {"scope": "s", "key": "k"})
    _is_a_fault(raised.value, ErrorCode.STORE_UNAVAILABLE)


def test_unreadable_stored_data_is_a_fault_not_a_value_error(redis_server: RedisServer) -> None:
    redis_server.flush()
    # Another tool wrote a value that is not JSON where the store keeps the item.
    with redis.Redis.from_url(redis_server.url) as raw:
        raw.hset("state:s", "k", b"not json")
    with RedisStore.from_url(redis_server.url) as store, pytest.raises(StoreCallError) as raised:
        store.call("state::get", {"scope": "s", "key": "k"})
    _is_a_fault(raised.value, ErrorCode.STORE_BAD_DATA)


def test_a_locked_log_is_a_fault_not_a_value_error(tmp_path: Path) -> None:
    with MemoryStore(tmp_path / "store.log"), pytest.raises(StoreCallError) as raised:
        MemoryStore(tmp_path / "store.log")
    _is_a_fault(raised.value, ErrorCode.STORE_LOCKED)


def test_a_full_disk_is_a_fault_not_a_value_error(small_disk: Path) -> None:
    (small_disk / "filler").write_bytes(b"\0" * 200 * 1024)
    with MemoryStore(small_disk / "store.log") as store, pytest.raises(StoreCallError) as raised:
        store.call("state::set", {"scope": "s", "key": "k", "value": "x" * 100_000})
    _is_a_fault(raised.value, ErrorCode.STORE_WRITE_FAILED)
