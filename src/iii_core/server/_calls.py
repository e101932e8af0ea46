"""``POST /call/{function_id}``: a store call over HTTP, for processes that are not Python.

Rules: a binding. The body is the call's JSON payload; the answer is ``200 {"result": ...}``,
or an error status with ``{"error": {"code", "message"}}`` carrying the store's code and
message. The status follows the code, one rule for every error the server answers:
``400`` for a body that is not JSON (``invalid_json``, as ``iii-core call`` says) or a payload
the engine would not decode (``deserialization_error``), ``404`` for an unknown function
(``function_not_found``), ``413`` for a value over ``max_value_bytes`` (``VALUE_TOO_LARGE``, the
store's) and for a request body over the server's limit (``body_too_large``, checked before the
body is read), ``503`` when the store is unreachable (``STORE_UNAVAILABLE``), ``500`` for any
other store error.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Final

import msgspec

from iii_core.errors import ErrorCode
from iii_core.server._store import StoreLink
from iii_core.store import StoreCallError
from iii_core.update import InvalidUpdateJSON

__all__ = [
    "BODY_TOO_LARGE",
    "COUNTED_BODY_BYTES",
    "CallAnswer",
    "answer_call",
    "answer_call_now",
    "error_body",
    "values_bound",
]

COUNTED_BODY_BYTES: Final = 64 * 1024
"""Bodies this large or smaller are not counted: they cannot hold many values."""

BODY_TOO_LARGE: Final = "body_too_large"

_STATUS_BY_CODE: Final[dict[str, HTTPStatus]] = {
    InvalidUpdateJSON.code: HTTPStatus.BAD_REQUEST,
    ErrorCode.DESERIALIZATION_ERROR: HTTPStatus.BAD_REQUEST,
    ErrorCode.FUNCTION_NOT_FOUND: HTTPStatus.NOT_FOUND,
    ErrorCode.VALUE_TOO_LARGE: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    BODY_TOO_LARGE: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    ErrorCode.STORE_UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
}

_encoder = msgspec.json.Encoder()

CallAnswer = tuple[int, bytes, StoreCallError | None]
"""``(status, body, the store's error or None)``: the body goes to the store as JSON and the
result comes back as JSON, no value copied on the way."""


def values_bound(body: bytes) -> int:
    """The count ``max_body_values`` bounds: commas plus opening brackets and braces, those
    inside strings included (found with ``bytes.count``, in C). Every value of a JSON text but
    the first of each array or object follows a comma, so this grows with the work of decoding
    and storing it (an object's members count once, key and value)."""
    return body.count(b",") + body.count(b"[") + body.count(b"{")


def error_body(code: str, message: str) -> bytes:
    return _encoder.encode({"error": {"code": code, "message": message}})


def call_answer(outcome: bytes | InvalidUpdateJSON | StoreCallError) -> CallAnswer:
    """The answer to a call whose store call gave ``outcome``: its result's JSON, or the error
    it raised."""
    if isinstance(outcome, bytes):
        return HTTPStatus.OK, b'{"result":' + outcome + b"}", None
    if isinstance(outcome, InvalidUpdateJSON):
        message = f"body is not valid JSON: {outcome.message}"
        return HTTPStatus.BAD_REQUEST, error_body(InvalidUpdateJSON.code, message), None
    status = _STATUS_BY_CODE.get(outcome.code, HTTPStatus.INTERNAL_SERVER_ERROR)
    return status, error_body(outcome.code, outcome.message), outcome


def answer_call_now(
    call_json: Callable[[str, bytes], bytes], function_id: str, body: bytes
) -> CallAnswer:
    """Answer one call with a store call that never waits (``StoreLink.inline_call_json``),
    on the spot."""
    try:
        outcome: bytes | InvalidUpdateJSON | StoreCallError = call_json(function_id, body)
    except (InvalidUpdateJSON, StoreCallError) as exc:
        outcome = exc
    return call_answer(outcome)


async def answer_call(store: StoreLink, function_id: str, body: bytes) -> CallAnswer:
    """Answer one call through the store's coroutine."""
    try:
        outcome: bytes | InvalidUpdateJSON | StoreCallError = await store.call_json(
            function_id, body
        )
    except (InvalidUpdateJSON, StoreCallError) as exc:
        outcome = exc
    return call_answer(outcome)
