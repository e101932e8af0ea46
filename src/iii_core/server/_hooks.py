"""The server's hooks: the auth hook, and the ``stream:join`` / ``stream:leave`` hooks.

Rules: a hook is a plain function (run on the event loop, so keep it quick) or a coroutine
function (awaited). A hook that raises is logged and counts as having returned nothing (``None``),
as the engine treats a failed trigger call: a failed auth hook gives no context, a failed join
hook allows the join. Hooks run one after another, each awaited before the next, in the order
given; every join hook runs even after one has rejected the join.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeAlias, TypeVar

from iii_core._generated.stream import StreamAuthInput, StreamJoinLeaveEvent

__all__ = ["AuthHook", "JoinHook", "LeaveHook", "run_hook", "run_hooks"]

log = logging.getLogger("iii_core.server")

T = TypeVar("T")

AuthHook: TypeAlias = Callable[[StreamAuthInput], Any | Awaitable[Any]]
"""Returns a ``StreamAuthResult`` (or a mapping with ``context``), or ``None``."""
JoinHook: TypeAlias = Callable[[StreamJoinLeaveEvent], Any | Awaitable[Any]]
"""Returns ``StreamJoinResult(unauthorized=True)`` or ``{"unauthorized": True}`` to reject."""
LeaveHook: TypeAlias = Callable[[StreamJoinLeaveEvent], Any | Awaitable[Any]]
"""Its result is ignored."""


async def run_hook(hook: Callable[[T], Any], argument: T) -> Any:
    """``hook(argument)``'s result, awaited if need be; ``None`` if it raised."""
    try:
        result = hook(argument)
        if inspect.isawaitable(result):
            result = await result
    except Exception:
        log.exception("hook %r failed", hook)
        return None
    return result


async def run_hooks(hooks: Sequence[Callable[[T], Any]], argument: T) -> list[Any]:
    return [await run_hook(hook, argument) for hook in hooks]
