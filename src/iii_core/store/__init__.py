"""The stream and state store, pure: what every backend applies, and nothing that touches the world.

The iii engine keeps streams (``stream_name -> group_id -> item_id -> value``) and state
(``scope -> key -> value``). This package computes, for each ``stream::*`` / ``state::*`` call,
exactly what the engine computes, so that every backend (the embedded memory store, Redis, the
CLI) shares one implementation of every rule:

- :func:`decode_call` turns a function id and its JSON payload into a typed request, failing
  like the engine's serde layer (``deserialization_error``) before any backend is touched;
- :func:`item_location`, :func:`list_hash_key` and :func:`list_hash_prefix` give the engine's
  Redis key layout (``stream:{stream}:{group}`` / ``state:{scope}`` hashes);
- :func:`transition` maps a write and the item's current value (or ``MISSING``) to the new value,
  the result and the change events; :func:`read_item`, :func:`read_list`,
  :func:`read_list_groups` and :func:`read_list_all` shape the reads of a snapshot;
- :func:`stream_trigger_matches` and :func:`state_trigger_matches` filter events for triggers;
- :func:`encode_result` writes a result as the engine puts it on the wire;
- :func:`call_flow` (and :class:`Call`) is how a call runs, as a sans-I/O generator of storage
  operations (:class:`ReadField`, :class:`ReadHash`, :class:`ListKeys`, :class:`CompareAndSet`,
  :class:`Publish`); a backend is a storage driver (:class:`Storage` or :class:`AsyncStorage`)
  that :func:`run_flow` / :func:`run_flow_async` drive the flow over. See ``_storage.py`` for
  the protocol and ``docs/stores.md`` for the guarantees.

Rules: no I/O, no clocks (time comes in as ``now_ms``), no randomness, no global mutable state,
no logging; inputs are never mutated, and results share values with their inputs (treat both as
immutable). The bindings call this package; it never imports them.
"""

from iii_core.store._decode_call import decode_call
from iii_core.store._encode import encode_result
from iii_core.store._errors import (
    STORE_BAD_DATA,
    STORE_CONFLICT,
    STORE_UNAVAILABLE,
    STORE_WRITE_FAILED,
    InvalidStoreCall,
    StoreCallError,
)
from iii_core.store._flow import (
    MAX_PAYLOAD_DEPTH,
    Call,
    Limits,
    call_flow,
    check_payload_depth,
    decode_stored,
    too_deep,
    within_depth,
)
from iii_core.store._keys import item_location, list_hash_key, list_hash_prefix
from iii_core.store._reads import read_item, read_list, read_list_all, read_list_groups
from iii_core.store._requests import (
    READ_FUNCTIONS,
    WRITE_FUNCTIONS,
    ReadRequest,
    Request,
    StreamListAllInput,
    WriteRequest,
)
from iii_core.store._size import json_size
from iii_core.store._storage import (
    MAX_WRITE_ATTEMPTS,
    AsyncStorage,
    Changed,
    ChangeEvent,
    CompareAndSet,
    Flow,
    ListKeys,
    Publish,
    ReadField,
    ReadHash,
    Storage,
    StorageOp,
    run_flow,
    run_flow_async,
)
from iii_core.store._transition import Transition, transition
from iii_core.store._triggers import state_trigger_matches, stream_trigger_matches

__all__ = [
    "MAX_PAYLOAD_DEPTH",
    "MAX_WRITE_ATTEMPTS",
    "READ_FUNCTIONS",
    "STORE_BAD_DATA",
    "STORE_CONFLICT",
    "STORE_UNAVAILABLE",
    "STORE_WRITE_FAILED",
    "WRITE_FUNCTIONS",
    "AsyncStorage",
    "Call",
    "ChangeEvent",
    "Changed",
    "CompareAndSet",
    "Flow",
    "InvalidStoreCall",
    "Limits",
    "ListKeys",
    "Publish",
    "ReadField",
    "ReadHash",
    "ReadRequest",
    "Request",
    "Storage",
    "StorageOp",
    "StoreCallError",
    "StreamListAllInput",
    "Transition",
    "WriteRequest",
    "call_flow",
    "check_payload_depth",
    "decode_call",
    "decode_stored",
    "encode_result",
    "item_location",
    "json_size",
    "list_hash_key",
    "list_hash_prefix",
    "read_item",
    "read_list",
    "read_list_all",
    "read_list_groups",
    "run_flow",
    "run_flow_async",
    "state_trigger_matches",
    "stream_trigger_matches",
    "too_deep",
    "transition",
    "within_depth",
]
