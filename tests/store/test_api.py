"""The public interface the backends are written against, and the purity rules of the core."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from iii_core import store

PACKAGE = Path(store.__file__).parent

INTERFACE = {
    "StoreCallError",
    "WRITE_FUNCTIONS",
    "READ_FUNCTIONS",
    "decode_call",
    "item_location",
    "Transition",
    "transition",
    "read_item",
    "read_list",
    "read_list_groups",
    "read_list_all",
    "list_hash_prefix",
    "stream_trigger_matches",
    "state_trigger_matches",
    "encode_result",
}
ADDITIONS = {
    "InvalidStoreCall",
    "Request",
    "ReadRequest",
    "WriteRequest",
    "StreamListAllInput",
    "list_hash_key",
    "json_size",
}
STORAGE_PROTOCOL = {
    "MAX_PAYLOAD_DEPTH",
    "MAX_WRITE_ATTEMPTS",
    "STORE_BAD_DATA",
    "STORE_CONFLICT",
    "STORE_UNAVAILABLE",
    "STORE_WRITE_FAILED",
    "AsyncStorage",
    "Call",
    "ChangeEvent",
    "Changed",
    "CompareAndSet",
    "Flow",
    "Limits",
    "ListKeys",
    "Publish",
    "ReadField",
    "ReadHash",
    "Storage",
    "StorageOp",
    "call_flow",
    "check_payload_depth",
    "decode_stored",
    "run_flow",
    "run_flow_async",
    "too_deep",
    "within_depth",
}


def test_all_is_the_interface_plus_the_additions() -> None:
    assert set(store.__all__) == INTERFACE | ADDITIONS | STORAGE_PROTOCOL
    assert len(store.__all__) == len(set(store.__all__))
    for name in store.__all__:
        assert getattr(store, name) is not None


def test_function_sets() -> None:
    assert {
        "stream::set",
        "stream::update",
        "stream::delete",
        "stream::send",
        "state::set",
        "state::update",
        "state::delete",
    } == store.WRITE_FUNCTIONS
    assert {
        "stream::get",
        "stream::list",
        "stream::list_groups",
        "stream::list_all",
        "state::get",
        "state::list",
        "state::list_groups",
    } == store.READ_FUNCTIONS
    assert isinstance(store.WRITE_FUNCTIONS, frozenset)
    assert isinstance(store.READ_FUNCTIONS, frozenset)


def test_signatures() -> None:
    assert list(inspect.signature(store.decode_call).parameters) == ["function_id", "payload"]
    transition = inspect.signature(store.transition).parameters
    assert list(transition) == ["request", "old", "now_ms", "max_value_bytes"]
    assert transition["max_value_bytes"].kind is inspect.Parameter.KEYWORD_ONLY
    assert transition["max_value_bytes"].default is None
    assert list(store.Transition.__dataclass_fields__) == [
        "write",
        "new",
        "result",
        "events",
    ]
    assert list(inspect.signature(store.read_item).parameters) == ["request", "item"]
    assert list(inspect.signature(store.read_list).parameters) == ["request", "values"]
    assert list(inspect.signature(store.read_list_groups).parameters) == ["request", "hash_keys"]
    assert list(inspect.signature(store.read_list_all).parameters) == ["hash_keys"]
    assert list(inspect.signature(store.stream_trigger_matches).parameters) == ["config", "event"]
    assert list(inspect.signature(store.state_trigger_matches).parameters) == ["config", "event"]


ALLOWED_IMPORTS = (
    "__future__",
    "collections.abc",
    "dataclasses",
    "enum",
    "types",
    "typing",
    "msgspec",
    "iii_core._base",
    "iii_core._generated",
    "iii_core.errors",
    "iii_core._serde",
    "iii_core._json",
    "iii_core.update",
    "iii_core.store",
)


def test_the_core_imports_nothing_that_touches_the_world() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), f"{path.name} needs a docstring stating its rules"
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                assert module.startswith(ALLOWED_IMPORTS), f"{path.name} imports {module}"


def test_modules_are_private_and_documented() -> None:
    docstring = store.__doc__ or ""
    for rule in ("no I/O", "no clocks", "no randomness", "no global mutable state", "no logging"):
        assert rule in docstring
    for path in PACKAGE.glob("*.py"):
        assert path.name == "__init__.py" or path.name.startswith("_")
