"""A reference store built only from ``iii_core.store``'s public functions, and a scenario runner.

Two separate pieces, so that the backend suites can run the same scenarios against real stores:

- :class:`CoreStore`: one in-memory store (``hash key -> {field -> value}``, insertion-ordered,
  emptied hashes kept like the engine's kv) whose :meth:`CoreStore.call` is
  ``decode_call -> read or transition -> apply the write -> collect the events``. No clock: event
  timestamps come from a counter that starts at a plausible epoch-ms value.
- :func:`run_scenario`: runs one scenario of ``stream-state.json`` (stream-state.md §10) against
  any ``store_call(function_id, payload) -> (result_json, events_json)`` that raises
  :class:`StoreCallError` for a failed call (a call that raises emitted nothing).

The selection of scenarios that make sense for a store (not the WebSocket protocol, not the
engine's Redis-Lua divergences, not concurrency, not the kv file format) is
:data:`EXCLUDED_SCENARIOS`, with the reason for each exclusion.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import msgspec

from iii_core._generated.state import (
    StateChangeEvent,
    StateTriggerConfig,
)
from iii_core._generated.stream import (
    StreamChangeEvent,
    StreamTriggerConfig,
)
from iii_core.store import (
    READ_FUNCTIONS,
    WRITE_FUNCTIONS,
    Changed,
    CompareAndSet,
    Limits,
    ListKeys,
    Publish,
    ReadField,
    ReadHash,
    StoreCallError,
    call_flow,
    encode_result,
    run_flow,
    state_trigger_matches,
    stream_trigger_matches,
)
from iii_core.update import MISSING
from tests.conformance.vectors import vector_file
from tests.jsonvalues import same_json

__all__ = [
    "EXCLUDED_SCENARIOS",
    "KV_HALF_OF_REDIS_SCENARIOS",
    "CoreStore",
    "StoreCall",
    "core_scenarios",
    "load_stream_state_vectors",
    "run_scenario",
]

StoreCall = Callable[[str, Any], tuple[Any, list[Any]]]
Configure = Callable[[Mapping[str, Any]], None]

HERE = Path(__file__).parent

EPOCH_MS_PLACEHOLDER: Final = "<epoch-ms>"
START_MS: Final = 1_700_000_000_000

# Scenarios left out of the store parametrisation, with why. Every id here must exist in the
# vectors (checked by the conformance module), so the list cannot silently rot.
EXCLUDED_SCENARIOS: Final[dict[str, str]] = {
    # WebSocket protocol (join/leave/auth/sync/delivery): the binding's socket layer, not a store.
    "ws-join-item-sync-then-update": "WebSocket join/sync protocol: runs in tests/subscriptions and tests/server",
    "ws-join-group-sync-list": "WebSocket join/sync protocol: runs in tests/subscriptions and tests/server",
    "ws-join-missing-item-sync-null": "WebSocket join/sync protocol: runs in tests/subscriptions and tests/server",
    "ws-unauthorized-join": "WebSocket join hooks: runs in tests/subscriptions and tests/server",
    "ws-join-leave-payload": "WebSocket join/leave hook payloads: runs in tests/subscriptions and tests/server",
    "ws-duplicate-delivery": "WebSocket per-subscription delivery: runs in tests/subscriptions and tests/server",
    "ws-close-fires-leave": "WebSocket close handling: runs in tests/subscriptions and tests/server",
    "ws-auth-cannot-reject": "WebSocket auth hook: runs in tests/subscriptions and tests/server",
    # The engine's Redis adapter: raw Redis commands and Lua/cjson divergences we do not inherit.
    # The kv half of the divergence scenarios runs separately (KV_HALF_OF_REDIS_SCENARIOS).
    "redis-key-layout": "asserts raw Redis commands (EVALSHA/HGET/PUBLISH), no kv expectation",
    "redis-empty-array-roundtrip": "Redis-Lua divergence (kv half run separately)",
    "redis-append-empty-object-leaf": "Redis-Lua divergence (kv half run separately)",
    "redis-state-null-old-value": "Redis-Lua divergence (kv half run separately)",
    "redis-number-precision": "Redis-Lua divergence (kv half run separately)",
    # Concurrency: many writers at once; a backend-suite matter (the core is per-item pure).
    "stream-concurrent-increments": "concurrency (500 parallel updates)",
    "stream-concurrent-appends": "concurrency (100 parallel appends)",
    # The engine kv's on-disk format and reload: raw kv.* calls, not stream/state functions.
    "stream-list-file-order-survives-reload": "kv file persistence (kv.set/kv.reload/sleep)",
    "kv-file-layout": "kv file naming/encoding (kv.index_file_name/kv.encode_index)",
    # Trigger dispatch: condition functions are engine calls, and `triggers_enabled` is a switch
    # of the binding's fan-out; the core only decides whether a config matches an event.
    "trigger-stream-conditions": "condition-function invocation (dispatch, not matching)",
    "trigger-state-disabled": "triggers_enabled config of the dispatcher (trigger_invocations)",
}

# Redis-divergence scenarios whose kv expectation is what every store of ours promises (we keep
# kv semantics on Redis); run with adapter "kv" by a test of their own.
KV_HALF_OF_REDIS_SCENARIOS: Final = (
    "redis-empty-array-roundtrip",
    "redis-append-empty-object-leaf",
    "redis-state-null-old-value",
    "redis-number-precision",
)


def load_stream_state_vectors() -> list[dict[str, Any]]:
    """The vectors from ``../shared`` when present, else the copy in ``tests/conformance/data``."""
    vectors: list[dict[str, Any]] = json.loads(
        vector_file("stream-state.json").read_text(encoding="utf-8")
    )
    return vectors


def core_scenarios(vectors: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The scenarios a single store must pass: all but :data:`EXCLUDED_SCENARIOS`."""
    return [scenario for scenario in vectors if scenario["id"] not in EXCLUDED_SCENARIOS]


# --------------------------------------------------------------------------------------------
# The reference store
# --------------------------------------------------------------------------------------------


def _to_json(value: Any) -> Any:
    return msgspec.json.decode(encode_result(value))


class CoreStore:
    """One in-memory store driven only through ``iii_core.store``'s public call flow
    (:func:`call_flow` over :func:`run_flow`), with itself as the storage driver: nested dicts
    whose stored forms are the values themselves."""

    def __init__(self, *, max_value_bytes: int | None = None, start_ms: int = START_MS) -> None:
        self.hashes: dict[str, dict[str, Any]] = {}
        self.max_value_bytes = max_value_bytes
        self._next_ms = start_ms
        self._events: list[Any] = []

    def configure(self, config: Mapping[str, Any]) -> None:
        """Apply a scenario's ``config`` step; only ``max_value_bytes`` is a store setting."""
        unknown = set(config) - {"max_value_bytes"}
        if unknown:
            raise ValueError(f"unsupported store config: {sorted(unknown)}")
        self.max_value_bytes = config["max_value_bytes"]

    # -- the storage driver -----------------------------------------------------------------

    def read_field(self, op: ReadField) -> Any:
        return self.hashes.get(op.hash_key, {}).get(op.field, MISSING)

    def read_hash(self, op: ReadHash) -> list[Any]:
        fields = self.hashes.get(op.hash_key, {})
        return list(fields.items() if op.fields else fields.values())

    def list_keys(self, op: ListKeys) -> list[str]:
        return [key for key in self.hashes if key.startswith(op.prefix)]

    def compare_and_set(self, op: CompareAndSet) -> Changed | None:
        current = self.read_field(ReadField(op.hash_key, op.field))
        if current is not op.expected:
            return Changed(current)
        if op.write:
            if op.new is MISSING:
                # The engine's kv keeps the emptied hash (its group stays listed).
                self.hashes[op.hash_key].pop(op.field, None)
            else:
                self.hashes.setdefault(op.hash_key, {})[op.field] = op.new
        self._events.extend(op.events)
        return None

    def publish(self, op: Publish) -> None:
        self._events.extend(op.events)

    # -- calls ------------------------------------------------------------------------------

    def call(self, function_id: str, payload: Any) -> tuple[Any, list[Any]]:
        """``(result, events)`` as JSON values, or :class:`StoreCallError`."""
        now_ms = self._next_ms + 1 if function_id in WRITE_FUNCTIONS else self._next_ms
        flow = call_flow(function_id, payload, now_ms, Limits(self.max_value_bytes))
        self._next_ms = now_ms
        self._events = []
        result = run_flow(flow, self)
        return _to_json(result), [_to_json(event) for event in self._events]


# --------------------------------------------------------------------------------------------
# The scenario runner
# --------------------------------------------------------------------------------------------

_SUPPORTED_EXPECTATIONS: Final = frozenset(
    {
        "result",
        "result_unordered",
        "result_by_adapter",
        "error",
        "events",
        "events_by_adapter",
        "new_value",
        "errors",
        "fires",
    }
)
# Where update_ops.apply vectors run: one item, through stream::set + stream::update.
_OPS_ITEM: Final = {"stream_name": "vectors", "group_id": "update_ops", "item_id": "item"}


class ScenarioFailure(AssertionError):
    pass


def _is_epoch_ms(value: Any) -> bool:
    # Epoch milliseconds (2001..5138), so a seconds or nanoseconds timestamp is caught.
    return type(value) is int and 10**12 <= value < 10**14


def _epoch_placeholder(want: Any, got: Any) -> bool | None:
    if type(want) is str and want == EPOCH_MS_PLACEHOLDER:
        return _is_epoch_ms(got)
    return None


def json_matches(expected: Any, actual: Any) -> bool:
    """Strict JSON equality (``1`` is not ``1.0`` nor ``True``) honouring ``"<epoch-ms>"``."""
    return same_json(expected, actual, wildcard=_epoch_placeholder)


def _errors_match(expected: list[Any], actual: Any) -> bool:
    """Op errors: ``op_index`` and ``code`` mandatory, any other given field must match."""
    if type(actual) is not list or len(actual) != len(expected):
        return False
    return all(
        type(got) is dict and all(key in got and json_matches(want[key], got[key]) for key in want)
        for want, got in zip(expected, actual, strict=True)
    )


def _partial_result_matches(expected: Any, actual: Any) -> bool:
    """A per-adapter result: the given top-level keys only (``errors`` entries partially)."""
    if type(expected) is not dict:
        return json_matches(expected, actual)
    if type(actual) is not dict:
        return False
    for key, want in expected.items():
        if key not in actual:
            return False
        matched = (
            _errors_match(want, actual[key]) if key == "errors" else json_matches(want, actual[key])
        )
        if not matched:
            return False
    return True


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _check(condition: bool, where: str, what: str, expected: Any, actual: Any) -> None:
    if not condition:
        raise ScenarioFailure(f"{where}: {what}\n  expected: {expected!r}\n  actual:   {actual!r}")


def _check_call(
    where: str,
    expect: Mapping[str, Any],
    outcome: tuple[Any, list[Any]] | StoreCallError,
    adapter: str,
) -> None:
    unsupported = set(expect) - _SUPPORTED_EXPECTATIONS
    if unsupported:
        raise ScenarioFailure(f"{where}: unsupported expectations {sorted(unsupported)}")
    if "error" in expect:
        error = expect["error"]
        _check(isinstance(outcome, StoreCallError), where, "an error", error, outcome)
        assert isinstance(outcome, StoreCallError)
        _check(outcome.code == error["code"], where, "error code", error["code"], outcome.code)
        if "message" in error:
            _check(outcome.message == error["message"], where, "message", error, outcome.message)
        if "message_contains" in error:
            _check(error["message_contains"] in outcome.message, where, "message", error, outcome)
        # A call that fails emits nothing; an expectation saying otherwise is not supported.
        _check(expect.get("events", []) == [], where, "events of a failed call", expect, [])
        return
    if isinstance(outcome, StoreCallError):
        raise ScenarioFailure(f"{where}: unexpected error {outcome!r}")
    result, events = outcome
    if "result" in expect:
        _check(json_matches(expect["result"], result), where, "result", expect["result"], result)
    if "result_unordered" in expect:
        want = sorted(map(_canonical, expect["result_unordered"]))
        got = sorted(map(_canonical, result)) if type(result) is list else result
        _check(want == got, where, "result (unordered)", expect["result_unordered"], result)
    if "result_by_adapter" in expect:
        want = expect["result_by_adapter"][adapter]
        _check(_partial_result_matches(want, result), where, f"{adapter} result", want, result)
    if "events" in expect:
        _check(json_matches(expect["events"], events), where, "events", expect["events"], events)
    if "events_by_adapter" in expect:
        want = expect["events_by_adapter"][adapter]
        _check(json_matches(want, events), where, f"{adapter} events", want, events)


def _store_outcome(
    store_call: StoreCall, call: str, payload: Any
) -> tuple[Any, list[Any]] | StoreCallError:
    try:
        return store_call(call, payload)
    except StoreCallError as error:
        return error


def _run_update_ops(where: str, store_call: StoreCall, step: Mapping[str, Any]) -> None:
    """``update_ops.apply`` through the store: set the old value (if any), then update it."""
    old = step["input"]["old"]
    if old["present"]:
        store_call("stream::set", {**_OPS_ITEM, "data": old.get("value")})
    result, events = store_call("stream::update", {**_OPS_ITEM, "ops": step["input"]["ops"]})
    expect = step["expect"]
    unsupported = set(expect) - {"new_value", "errors"}
    if unsupported:
        raise ScenarioFailure(f"{where}: unsupported expectations {sorted(unsupported)}")
    _check(type(result) is dict, where, "an update result object", expect, result)
    _check(
        json_matches(old.get("value") if old["present"] else None, result.get("old_value")),
        where,
        "old_value",
        old,
        result,
    )
    _check(
        json_matches(expect["new_value"], result.get("new_value")),
        where,
        "new_value",
        expect["new_value"],
        result,
    )
    if expect["errors"]:
        _check(
            _errors_match(expect["errors"], result.get("errors")),
            where,
            "errors",
            expect["errors"],
            result,
        )
    else:
        _check("errors" not in result, where, "no errors key", expect, result)
    kind = "update" if old["present"] else "create"
    _check(
        len(events) == 1
        and events[0]["event"] == {"type": kind, "data": result["new_value"]}
        and events[0]["id"] == _OPS_ITEM["item_id"],
        where,
        f"one {kind} event carrying new_value",
        kind,
        events,
    )


def _stream_event(partial: Mapping[str, Any]) -> StreamChangeEvent:
    full = {"type": "stream", "timestamp": START_MS, "event": {"type": "create", "data": None}}
    return msgspec.convert({**full, **partial}, StreamChangeEvent)


def _state_event(partial: Mapping[str, Any]) -> StateChangeEvent:
    full = {"type": "state", "event_type": "state:created", "old_value": None, "new_value": None}
    return msgspec.convert({**full, **partial}, StateChangeEvent)


def _run_match(where: str, step: Mapping[str, Any]) -> None:
    """A ``match`` step: which trigger configs fire for an event (pure matching functions)."""
    event = step["input"]["event"]
    triggers: Mapping[str, Any] = step["input"]["triggers"]
    if "streamName" in event:
        stream_event = _stream_event(event)
        fires = [
            name
            for name, config in triggers.items()
            if stream_trigger_matches(msgspec.convert(config, StreamTriggerConfig), stream_event)
        ]
    else:
        state_event = _state_event(event)
        fires = [
            name
            for name, config in triggers.items()
            if state_trigger_matches(msgspec.convert(config, StateTriggerConfig), state_event)
        ]
    expected = step["expect"]["fires"]
    _check(sorted(fires) == sorted(expected), where, "fired triggers", expected, fires)


def run_scenario(
    store_call: StoreCall,
    scenario: Mapping[str, Any],
    *,
    configure: Configure | None = None,
    adapter: str = "kv",
) -> None:
    """Run one scenario; raise :class:`ScenarioFailure` (an ``AssertionError``) on a mismatch.

    ``store_call`` must start empty. ``configure`` applies ``config`` steps (store settings such as
    ``max_value_bytes``); ``adapter`` picks the ``*_by_adapter`` expectations.
    """
    name = scenario["id"]
    for index, step in enumerate(scenario.get("setup", [])):
        where = f"{name} setup[{index}] {step['call']}"
        if step["call"] == "config":
            if configure is None:
                raise ScenarioFailure(f"{where}: the store under test takes no config")
            configure(step["input"])
        else:
            outcome = _store_outcome(store_call, step["call"], step["input"])
            if isinstance(outcome, StoreCallError):
                raise ScenarioFailure(f"{where}: setup call failed: {outcome!r}")
    for index, step in enumerate(scenario["steps"]):
        where = f"{name} step[{index}] {step['call']}"
        call = step["call"]
        if call == "update_ops.apply":
            _run_update_ops(where, store_call, step)
        elif call == "match":
            _run_match(where, step)
        elif call in WRITE_FUNCTIONS or call in READ_FUNCTIONS:
            outcome = _store_outcome(store_call, call, step["input"])
            _check_call(where, step.get("expect", {}), outcome, adapter)
        else:
            raise ScenarioFailure(f"{where}: call kind not supported by the store runner")
