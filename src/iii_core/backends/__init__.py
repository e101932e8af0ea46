"""Store backends (bindings): the embedded :class:`MemoryStore` and, with the ``redis`` extra,
:class:`RedisStore` and :class:`AsyncRedisStore`. All of them apply the pure core in
:mod:`iii_core.store`, so their results and events are the same, number for number.
"""

from __future__ import annotations

from iii_core.backends._base import ChangeEvent, EventHandler, Store, TriggerConfig
from iii_core.backends.memory import MemoryStore

__all__ = ["ChangeEvent", "EventHandler", "MemoryStore", "Store", "TriggerConfig"]
