"""``POST /call/{function_id}``: a store call over HTTP, for processes that are not Python.

Rules: a binding. The body is the call's JSON payload; the answer is ``200 {"result": ...}``,
or an error status with ``{"error": {"code", "message"}}`` carrying the store's code and
message: ``400`` for a body that is not JSON (``invalid_json``, as ``iii-core call`` says) or a
payload the engine would not decode (``deserialization_error``), ``404`` for an unknown
function (``function_not_found``), ``413`` for ``VALUE_TOO_LARGE``, ``503`` when the store is
unreachable (``STORE_UNAVAILABLE``), ``500`` for any other store error.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Final

import msgspec

from iii_core.errors import ErrorCode
from iii_core.server._store import StoreLink
from iii_core.store import StoreCallError
from iii_core.update import InvalidUpdateJSON

__all__ = ["answer_call", "error_body"]

_STATUS_BY_CODE: Final[dict[str, HTTPStatus]] = {
    InvalidUpdateJSON.code: HTTPStatus.BAD_REQUEST,
    ErrorCode.DESERIALIZATION_ERROR: HTTPStatus.BAD_REQUEST,
    ErrorCode.FUNCTION_NOT_FOUND: HTTPStatus.NOT_FOUND,
    ErrorCode.VALUE_TOO_LARGE: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    ErrorCode.STORE_UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
}

_encoder = msgspec.json.Encoder()


def error_body(code: str, message: str) -> bytes:
    return _encoder.encode({"error": {"code": code, "message": message}})


async def answer_call(store: StoreLink, function_id: str, body: bytes) -> tuple[int, bytes]:
    """``(status, body)`` answering one call. The body goes to the store as JSON and the
    result comes back as JSON: no value is copied on the way."""
    try:
        result = await store.call_json(function_id, body)
    except InvalidUpdateJSON as exc:
        return HTTPStatus.BAD_REQUEST, error_body(InvalidUpdateJSON.code, str(exc))
    except StoreCallError as exc:
        status = _STATUS_BY_CODE.get(exc.code, HTTPStatus.INTERNAL_SERVER_ERROR)
        return status, error_body(exc.code, exc.message)
    return HTTPStatus.OK, b'{"result":' + result + b"}"
