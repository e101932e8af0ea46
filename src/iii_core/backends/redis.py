"""``RedisStore``: the stream and state store on Redis, shared by processes and machines.

Rules: a binding: :class:`RedisStorage`, a synchronous storage driver, driven by the core's
call flow like every other store, with the engine's key layout so that other tools can read
the data (stream items in hashes ``stream:{stream_name}:{group_id}``, field = item id; state in
hashes ``state:{scope}``, field = key; each value the item's JSON text). Values are stored
exactly as the core computed them (integers above 2**53 and 2**63, ``[]`` and ``{}`` come back
as written). A write is one compare-and-set script that also publishes the change events
(:mod:`iii_core.backends._redis_common`): one round trip when this process saw the item's
current value last, a retry with backoff when another process changed it. Every operation is
written once, for this driver and the async one, as a generator of Redis commands
(:class:`~iii_core.backends._redis_common.RedisDriver`); this module only performs them. On one
Redis node it packs and sends them itself on a connection of the client's pool, which it keeps
while idle and tests (the pool's own test) before each reuse, so that a connection Redis closed
is replaced rather than failing a call; a command that fails on its connection is not retried
(a compare-and-set may have been applied). On a cluster the client sends them.

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

import os
import time
import weakref
from collections.abc import Callable
from typing import Any, Final

from iii_core._extras import MissingExtra
from iii_core.backends._base import Handlers, Store, wall_clock_ms
from iii_core.backends._boundary import copy_event
from iii_core.backends._redis_common import (
    CAS_SCRIPT,
    CONNECT_TIMEOUT_SECONDS,
    REDIS_ERRORS,
    SOCKET_TIMEOUT_SECONDS,
    SUBSCRIBE_ERRORS,
    Command,
    Pause,
    RedisDriver,
    Step,
    Steps,
    not_subscribed,
    pack_command,
    redis_error,
)
from iii_core.backends._redis_listener import EventListener
from iii_core.backends._subscribers import EventHandler, TriggerConfig

try:
    import redis
    from redis.cluster import RedisCluster
    from redis.exceptions import NoScriptError, ResponseError
except ModuleNotFoundError:  # pragma: no cover - exercised only without the extra
    raise MissingExtra("iii_core.backends.redis", "redis", "redis") from None

# Connections a driver keeps for its next commands; more concurrent callers than this take
# theirs from the pool and give them back.
IDLE_CONNECTIONS: Final = 8

# A forked child must not use its parent's sockets: it forgets the kept connections (the pool
# itself starts afresh in a child too).
_drivers: weakref.WeakSet[RedisStorage] = weakref.WeakSet()


def _forget_connections_in_child() -> None:
    for driver in _drivers:
        driver._idle.clear()


os.register_at_fork(after_in_child=_forget_connections_in_child)

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


class RedisStorage(RedisDriver):
    """The synchronous storage driver on Redis or a Redis Cluster; stored forms are the JSON
    bytes. On one Redis node it sends its commands itself, on a connection of the client's
    pool (see :mod:`iii_core.backends._redis_common`) that it keeps while idle, up to
    :data:`IDLE_CONNECTIONS` (the pool's own bookkeeping per command costs as much as the
    command's Python side)."""

    def __init__(
        self,
        client: redis.Redis | RedisCluster,
        *,
        engine_channel: bool = True,
        replica_acks: int = 0,
    ) -> None:
        super().__init__(client, engine_channel=engine_channel, replica_acks=replica_acks)
        self._pool = None if isinstance(client, RedisCluster) else client.connection_pool
        self._idle: list[Any] = []
        _drivers.add(self)

    def _drive(self, steps: Steps[Any], key: str | None) -> Any:
        reply = None
        try:
            while True:
                reply = self._perform(steps.send(reply))
        except StopIteration as done:
            return done.value
        except REDIS_ERRORS as exc:
            raise redis_error(exc, key) from None

    def _perform(self, step: Step) -> Any:
        if isinstance(step, Command):
            try:
                return self._send(step)
            except NoScriptError:  # a restarted or flushed Redis: load the script once more
                self._redis.script_load(CAS_SCRIPT)
                return self._send(step)
        if isinstance(step, Pause):
            time.sleep(step.seconds)
            return None
        return list(self._redis.scan_iter(match=step.pattern, count=1000))

    def _send(self, command: Command) -> Any:
        if self._pool is None:
            if command.node_of is None:
                return self._redis.execute_command(*command.args)
            node = self._redis.get_node_from_key(command.node_of)
            return self._redis.execute_command(*command.args, target_nodes=node)
        connection = self._connection()
        try:
            connection.send_packed_command([pack_command(command.args)])
            return connection.read_response()
        except ResponseError:
            raise  # Redis answered: the connection is in step
        except BaseException:
            connection.disconnect()  # a reply may be left unread: connect afresh next time
            raise
        finally:
            if len(self._idle) < IDLE_CONNECTIONS:
                self._idle.append(connection)
            else:
                self._pool.release(connection)

    def _connection(self) -> Any:
        """A connection for one command: one this driver kept idle (list operations are
        atomic, so threads never share one), after the pool's own check that Redis did not
        close it and it holds no stray reply; else a new one from the pool."""
        assert self._pool is not None
        try:
            connection = self._idle.pop()
        except IndexError:
            return self._pool.get_connection()
        try:
            if not connection.can_read():
                return connection
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            pass
        connection.disconnect()  # the next command connects it again
        return connection

    def close(self) -> None:
        """Hand the idle connections back to the client's pool."""
        while self._idle and self._pool is not None:
            self._pool.release(self._idle.pop())


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
        self._driver = RedisStorage(
            client, engine_channel=engine_channel, replica_acks=replica_acks
        )
        super().__init__(self._driver, clock=clock, max_value_bytes=max_value_bytes)
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
        self._driver.close()
        self._redis.close()

    def __enter__(self) -> RedisStore:
        return self

    def event_counts(self) -> dict[str, Any]:
        """Messages this process received from Redis, decoded, found not to be change events
        and handed to handlers, and the number of event channels it listens on."""
        return self._events.counts()

    # -- delivery across processes ------------------------------------------------------------

    def _add(self, config: TriggerConfig | None, handlers: Handlers) -> Callable[[], None]:
        """Listen only on the channel of the group (or scope) ``config`` names, when it names
        one; ``watch()`` makes this process decode every event of every process."""
        handler, on_resync, private = handlers
        try:
            return self._events.add(config, private_copies(handler, private), on_resync)
        except SUBSCRIBE_ERRORS as exc:
            raise not_subscribed(exc) from None

    def sync_events(self, timeout: float = 5.0) -> None:
        """Return once every event published before the call has been handed to this process's
        handlers: a marker behind them has come back on every channel that needs one."""
        try:
            self._events.sync(timeout)
        except REDIS_ERRORS as exc:
            raise redis_error(exc) from None
