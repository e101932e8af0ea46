"""Store backends (bindings): the embedded :class:`MemoryStore` and, with the ``redis`` extra,
:class:`RedisStore` and :class:`AsyncRedisStore`. Each is a small storage driver
(:class:`MemoryStorage`, ``RedisStorage``, ``AsyncRedisStorage``) under one :class:`Store` (sync)
or :class:`AsyncStore` (async) class, which drive the core's one call flow
(:func:`iii_core.store.call_flow`), so their results and events are the same, number for
number, and so are their methods. ``store.as_async()`` gives any store as an ``AsyncStore``.
The Redis classes are imported on first use, so the memory store works without the ``redis``
package. See ``docs/stores.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from iii_core.backends._base import AsyncStore, DriverAsyncStore, Store, wall_clock_ms
from iii_core.backends._subscribers import ChangeEvent, EventHandler, ResyncHandler, TriggerConfig
from iii_core.backends.memory import MemoryStorage, MemoryStore

if TYPE_CHECKING:
    from iii_core.backends.redis import RedisStore
    from iii_core.backends.redis_async import AsyncRedisStore

__all__ = [
    "AsyncRedisStore",
    "AsyncStore",
    "ChangeEvent",
    "DriverAsyncStore",
    "EventHandler",
    "MemoryStorage",
    "MemoryStore",
    "RedisStore",
    "ResyncHandler",
    "Store",
    "TriggerConfig",
    "wall_clock_ms",
]


def __getattr__(name: str) -> Any:
    if name == "RedisStore":
        from iii_core.backends.redis import RedisStore

        return RedisStore
    if name == "AsyncRedisStore":
        from iii_core.backends.redis_async import AsyncRedisStore

        return AsyncRedisStore
    raise AttributeError(f"module 'iii_core.backends' has no attribute {name!r}")
