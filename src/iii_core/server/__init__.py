"""Live stream subscriptions over WebSocket (a binding): the engine's stream socket protocol,
served from iii-core's own stores, with the store's calls over HTTP on the same port.

:class:`StreamServer` runs on an asyncio event loop over a ``MemoryStore``, a ``RedisStore`` or an
``AsyncRedisStore`` (on Redis, the writes of every process reach every subscriber); the hooks
(:data:`AuthHook`, :data:`JoinHook`, :data:`LeaveHook`) are Python callables. :func:`serve` is
``iii-core serve``. The rules of the protocol live in the pure :mod:`iii_core.subscriptions`;
the slow-client rule in :mod:`iii_core.server._socket`; the HTTP calls in
:mod:`iii_core.server._calls`; the budgets in :class:`Limits` and the browser rules in
:class:`Access` (:mod:`iii_core.server._access`). Needs the ``serve`` extra (``h11``,
``websockets``).
"""

from iii_core._extras import require_extra

require_extra("serve", "iii_core.server")  # one line naming the extra, before any import fails

from iii_core.server._hooks import AuthHook, JoinHook, LeaveHook
from iii_core.server._limits import DEFAULT_MAX_BUFFERED_BYTES, Access, Limits
from iii_core.server._main import main, serve
from iii_core.server._server import DEFAULT_HOST, DEFAULT_PORT, StreamServer
from iii_core.server._stats import ServerStats

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_MAX_BUFFERED_BYTES",
    "DEFAULT_PORT",
    "Access",
    "AuthHook",
    "JoinHook",
    "LeaveHook",
    "Limits",
    "ServerStats",
    "StreamServer",
    "main",
    "serve",
]
