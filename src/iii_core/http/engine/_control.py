"""Control messages: how a handler sets the status and headers of a streamed response.

Rules: the handler's side sends text frames ``{"type": "set_status", "status_code": code}``
and ``{"type": "set_headers", "headers": {...}}``, serialised by ``json.dumps`` exactly as the
iii SDK does. The engine's side (:func:`apply_control_message`) honours ``set_status`` only for
an integer in 100..599, applies only the string values of ``set_headers`` (a later value for
the same name replaces an earlier one), and ignores anything else, including text that is not
JSON. Pure, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from iii_core.http.engine._request import parse_json_body

__all__ = ["apply_control_message", "set_headers_message", "set_status_message"]


def set_status_message(status_code: int) -> str:
    """The text frame of ``StreamResponse.status(status_code)``."""
    return json.dumps({"type": "set_status", "status_code": status_code})


def set_headers_message(headers: dict[str, str]) -> str:
    """The text frame of ``StreamResponse.headers(headers)``."""
    return json.dumps({"type": "set_headers", "headers": headers})


def apply_control_message(
    message: str, status: int, headers: Mapping[str, str]
) -> tuple[int, dict[str, str]]:
    """The status and headers after the engine reads ``message``; the inputs are not changed."""
    updated = dict(headers)
    control = parse_json_body(message)
    if type(control) is not dict:
        return status, updated
    kind = control.get("type")
    if kind == "set_status":
        code = control.get("status_code")
        if type(code) is int and 100 <= code <= 599:
            status = code
    elif kind == "set_headers":
        new_headers = control.get("headers")
        if type(new_headers) is dict:
            updated.update((k, v) for k, v in new_headers.items() if type(v) is str)
    return status, updated
