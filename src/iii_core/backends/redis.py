"""``RedisStore``: the stream and state store on Redis, shared by processes and machines.

Rules: a binding: :class:`RedisStorage`, a synchronous storage driver, driven by the core's
call flow like every other store, with the engine's key layout so that other tools can read
the data (stream items in hashes ``stream:{stream_name}:{group_id}``, field = item id; state in
hashes ``state:{scope}``, field = key; each value the item's JSON text). Values are stored
exactly as the core computed them (integers above 2**53 and 2**63, ``[]`` and ``{}`` come back
as written). A write is one compare-and-set script that also publishes the change events
(:mod:`iii_core.backends._redis_common`): one round trip when this process saw the item's
current value last, a retry with backoff when another process changed it.

Change events go out on the channel of their group (or state scope), and on the engine's
``stream::events`` in its format unless ``engine_channel=False``
(:mod:`iii_core.backends._event_routing`, :mod:`iii_core.backends._engine_channel`); a
listener thread (:mod:`iii_core.backends._redis_listener`) listens only on the channels this
process's subscriptions need, so a process decodes only the events of the groups it serves
(``event_counts()``); ``watch()`` listens on the firehoses and decodes every event. The
listener reconnects and re-subscribes after a dropped connection (a Redis restart, ``CLIENT
KILL``, an event over Redis's ``client-output-buffer-limit pubsub``) and then calls every
``on_resync`` handler, because events published while it was away are lost for it. A message
that is not a change event is counted, logged (rate-limited) and skipped.

On a Redis Cluster (:meth:`RedisStore.from_cluster_url`, Redis 7 or later) the write is the
same one-key script, group channels are shard channels in their group's slot, and listings scan
every primary; ``replica_acks`` makes every write wait until that many replicas have it.

Every wait has a bound: connecting 5 s, any command 10 s, the first subscription 5 s. A call
that cannot reach Redis raises ``StoreCallError`` with code ``STORE_UNAVAILABLE``; the next call
reconnects.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from iii_core._extras import MissingExtra
from iii_core.backends._base import Store, wall_clock_ms
from iii_core.backends._boundary import copy_event
from iii_core.backends._event_routing import publish_commands
from iii_core.backends._redis_common import (
    CAS_SCRIPT,
    CONNECT_TIMEOUT_SECONDS,
    REDIS_ERRORS,
    REPLICA_ACK_TIMEOUT_MS,
    SOCKET_TIMEOUT_SECONDS,
    LastSeen,
    backoff_seconds,
    cas_arguments,
    cas_outcome,
    glob_escape,
    redis_error,
    replicas_missing,
    stored_form,
)
from iii_core.backends._redis_common import (
    text as _text,
)
from iii_core.backends._redis_listener import EventListener
from iii_core.backends._subscribers import (
    ChangeEvent,
    EventHandler,
    ResyncHandler,
    TriggerConfig,
)
from iii_core.store import (
    STORE_UNAVAILABLE,
    Changed,
    CompareAndSet,
    ListKeys,
    Publish,
    ReadField,
    ReadHash,
    StoreCallError,
)

try:
    import redis
    from redis.cluster import RedisCluster
except ModuleNotFoundError:  # pragma: no cover - exercised only without the extra
    raise MissingExtra("iii_core.backends.redis", "redis", "redis") from None

__all__ = ["RedisStorage", "RedisStore", "client_options", "private_copies"]


def client_options() -> dict[str, Any]:
    """The timeouts every Redis client of a store is built with."""
    return {
        "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "socket_timeout": SOCKET_TIMEOUT_SECONDS,
        "health_check_interval": 30,
    }


def private_copies(handler: EventHandler, private: bool) -> EventHandler:
    """``handler``, given its own copy of each event when ``private``."""
    if not private:
        return handler
    return lambda event: handler(copy_event(event))


class RedisStorage:
    """The synchronous storage driver on Redis or a Redis Cluster; stored forms are the JSON
    bytes."""

    def __init__(
        self,
        client: redis.Redis | RedisCluster,
        *,
        engine_channel: bool = True,
        replica_acks: int = 0,
    ) -> None:
        self._redis = client
        self._compare_and_set = client.register_script(CAS_SCRIPT)
        self._cluster = isinstance(client, RedisCluster)
        self._engine_channel = engine_channel
        self._replica_acks = replica_acks
        self._last_seen = LastSeen()

    def _publications(self, events: tuple[ChangeEvent, ...]) -> list[tuple[str, str, bytes]]:
        return publish_commands(events, engine_channel=self._engine_channel, cluster=self._cluster)

    def read_field(self, op: ReadField) -> Any:
        if not op.fresh:
            seen = self._last_seen.get(op.hash_key, op.field)
            if seen is not None:
                return seen
        try:
            stored = stored_form(self._redis.hget(op.hash_key, op.field))
        except REDIS_ERRORS as exc:
            raise redis_error(exc, op.hash_key) from None
        self._last_seen.put(op.hash_key, op.field, stored)
        return stored

    def read_hash(self, op: ReadHash) -> list[Any]:
        try:
            if not op.fields:
                return list(self._redis.hvals(op.hash_key))
            fields = self._redis.hgetall(op.hash_key)
        except REDIS_ERRORS as exc:
            raise redis_error(exc, op.hash_key) from None
        return [(_text(field), raw) for field, raw in fields.items()]

    def list_keys(self, op: ListKeys) -> list[str]:
        try:
            keys = list(self._redis.scan_iter(match=glob_escape(op.prefix) + "*", count=1000))
        except REDIS_ERRORS as exc:
            raise redis_error(exc) from None
        return [_text(key) for key in keys]

    def compare_and_set(self, op: CompareAndSet) -> Changed | None:
        arguments, after = cas_arguments(op, self._publications(op.events))
        try:
            reply = self._compare_and_set(keys=[op.hash_key], args=arguments)
            changed = cas_outcome(reply)
            if changed is None and op.write and self._replica_acks:
                self._wait_for_replicas(op.hash_key)
        except REDIS_ERRORS as exc:
            raise redis_error(exc, op.hash_key) from None
        if changed is not None and op.attempt > 0:
            # Contended by other processes: back off, then read, so that the retry starts
            # from the value after the wait rather than the one before it.
            time.sleep(backoff_seconds(op.attempt))
            changed = Changed(self.read_field(ReadField(op.hash_key, op.field)))
        self._last_seen.put(op.hash_key, op.field, after if changed is None else changed.current)
        return changed

    def _wait_for_replicas(self, hash_key: str) -> None:
        wait = ("WAIT", self._replica_acks, REPLICA_ACK_TIMEOUT_MS)
        if isinstance(self._redis, RedisCluster):
            node = self._redis.get_node_from_key(hash_key)  # type: ignore[no-untyped-call]
            acked = self._redis.execute_command(*wait, target_nodes=node)  # type: ignore[no-untyped-call]
        else:
            acked = self._redis.execute_command(*wait)  # type: ignore[no-untyped-call]
        if acked < self._replica_acks:
            raise replicas_missing(acked, self._replica_acks)

    def publish(self, op: Publish) -> None:
        try:
            for command in self._publications(op.events):
                self._redis.execute_command(*command)  # type: ignore[no-untyped-call]
        except REDIS_ERRORS as exc:
            # Only `stream::send` publishes outside a write; the engine fails it when the emit
            # fails (STREAM_SEND_ERROR), and so does this store.
            raise redis_error(exc) from None


class RedisStore(Store):
    """The store on Redis. Build it with :meth:`from_url` / :meth:`from_cluster_url`, or from a
    ``redis.Redis`` or ``redis.cluster.RedisCluster`` client created with
    ``decode_responses=False``.

    ``engine_channel``: also publish stream events on the engine's ``stream::events`` and read
    the engine's writes from it (on by default; docs/deployment.md). ``replica_acks``: every
    write waits until that many replicas of its primary have it, else fails with
    ``STORE_UNAVAILABLE`` (0, the default, does not wait).
    """

    shares_values = False  # every result is decoded afresh from Redis's bytes

    def __init__(
        self,
        client: redis.Redis | RedisCluster,
        *,
        engine_channel: bool = True,
        replica_acks: int = 0,
        clock: Callable[[], int] = wall_clock_ms,
        max_value_bytes: int | None = None,
    ) -> None:
        super().__init__(
            RedisStorage(client, engine_channel=engine_channel, replica_acks=replica_acks),
            clock=clock,
            max_value_bytes=max_value_bytes,
        )
        self._redis = client
        self._events = EventListener(
            client, cluster=isinstance(client, RedisCluster), engine_channel=engine_channel
        )

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisStore:
        """``RedisStore.from_url("redis://127.0.0.1:6379/0")``."""
        return cls(redis.Redis.from_url(url, **client_options()), **kwargs)

    @classmethod
    def from_cluster_url(cls, url: str, **kwargs: Any) -> RedisStore:
        """``RedisStore.from_cluster_url("redis://127.0.0.1:7000")``: any node of a Redis
        Cluster (Redis 7 or later); the client finds the others and follows slot moves."""
        try:
            client = RedisCluster.from_url(url, **client_options())  # asks for the slot map
        except REDIS_ERRORS as exc:
            raise redis_error(exc) from None
        return cls(client, **kwargs)

    def close(self) -> None:
        self._events.close()
        self._redis.close()

    def __enter__(self) -> RedisStore:
        return self

    def event_counts(self) -> dict[str, Any]:
        """Messages this process received from Redis, decoded, found not to be change events
        and handed to handlers, and the number of event channels it listens on."""
        return self._events.counts()

    # -- delivery across processes ------------------------------------------------------------

    def subscribe(
        self,
        config: TriggerConfig,
        handler: EventHandler,
        *,
        on_resync: ResyncHandler | None = None,
        private_copies: bool = True,
    ) -> Callable[[], None]:
        """As :meth:`Store.subscribe`; listens only on the channel of the group (or scope)
        ``config`` names, when it names one."""
        return self._add(config, handler, on_resync, private_copies)

    def watch(
        self,
        handler: EventHandler,
        *,
        on_resync: ResyncHandler | None = None,
        private_copies: bool = True,
    ) -> Callable[[], None]:
        """As :meth:`Store.watch`: this process then decodes every event of every process."""
        return self._add(None, handler, on_resync, private_copies)

    def _add(
        self,
        config: TriggerConfig | None,
        handler: EventHandler,
        on_resync: ResyncHandler | None,
        private: bool,
    ) -> Callable[[], None]:
        try:
            return self._events.add(config, private_copies(handler, private), on_resync)
        except (TimeoutError, *REDIS_ERRORS) as exc:
            raise StoreCallError(
                STORE_UNAVAILABLE, f"Redis is unavailable: could not subscribe: {exc}"
            ) from None

    def _start_events(self) -> None:
        """Unused: :meth:`subscribe` and :meth:`watch` start the listener."""

    def sync_events(self, timeout: float = 5.0) -> None:
        """Return once every event published before the call has been handed to this process's
        handlers: a marker behind them has come back on every channel that needs one."""
        try:
            self._events.sync(timeout)
        except REDIS_ERRORS as exc:
            raise redis_error(exc) from None
