"""Store backends (bindings): the embedded :class:`MemoryStore` and, with the ``redis`` extra,
:class:`RedisStore` and :class:`AsyncRedisStore`. All of them apply the pure core in
:mod:`iii_core.store` through one call path, so their results and events are the same, number
for number. The Redis classes are imported on first use, so the memory store works without the
``redis`` package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from iii_core.backends._base import Store, wall_clock_ms
from iii_core.backends._subscribers import ChangeEvent, EventHandler, TriggerConfig
from iii_core.backends.memory import MemoryStore

if TYPE_CHECKING:
    from iii_core.backends.redis import RedisStore
    from iii_core.backends.redis_async import AsyncRedisStore

__all__ = [
    "AsyncRedisStore",
    "ChangeEvent",
    "EventHandler",
    "MemoryStore",
    "RedisStore",
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
