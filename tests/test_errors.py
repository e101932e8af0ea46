"""The error model: every exception iii-core exports derives from ``IIICoreError``, carries a code
from ``ErrorCode``, shows it in ``str()``, and no module spells a code as a string literal."""

from __future__ import annotations

import ast
import importlib
import pickle
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

import iii_core
from iii_core.errors import ErrorCode, IIICoreError
from iii_core.store import StoreCallError
from iii_core.update import InvalidOps, InvalidUpdateJSON, apply_update_ops

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
    if cls is not IIICoreError and cls is not StoreCallError:
        # StoreCallError's code is per instance; every other class names its own.
        assert cls.code in set(ErrorCode), f"{where}.code is not an ErrorCode"


@pytest.mark.parametrize(
    "cls",
    [InvalidOps, InvalidUpdateJSON]
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
