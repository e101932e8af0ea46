"""What the sync and the async Redis drivers share: every storage operation, as a sans-I/O
generator of Redis commands (:class:`RedisDriver`), the compare-and-set script, the memory of
the last stored bytes seen, error mapping, backoff and the replica acknowledgement.

Rules: no I/O here. Each storage operation is written once, as a generator that yields
:class:`Command` (one Redis command), :class:`Scan` (every key matching a pattern, on every
primary of a cluster) and :class:`Pause` (the backoff) steps and receives their replies; the
drivers (:class:`~iii_core.backends.redis.RedisStorage`,
:class:`~iii_core.backends.redis_async.AsyncRedisStorage`) only perform the steps, with or
without ``await``. The synchronous driver on one Redis node sends its commands itself, packed
here (:func:`pack_command`), on a connection of the client's pool: redis-py's per-command
machinery (retries, observability hooks, response callbacks) costs more than the round trip
on loopback. Replies are therefore raw (``HGETALL`` is read with :func:`field_pairs`).

- **Compare-and-set** (:data:`CAS_SCRIPT`, one Lua script on one key, atomic in Redis and on
  a Redis Cluster): if the field still holds exactly the expected bytes (or is still missing),
  apply the write and publish the events where :func:`~iii_core.backends._event_routing.
  publish_commands` says (each on its group's channel, with ``SPUBLISH`` on a cluster, in the
  key's slot; and on a firehose or the engine's ``stream::events``); otherwise change nothing
  and return the current bytes, so that the flow retries without another read. Publishing
  inside the script means an event is out exactly when its write is.
- **Replica acknowledgement** (``replica_acks`` > 0): after an applied write the driver sends
  ``WAIT replica_acks`` to the key's primary and reports ``STORE_UNAVAILABLE`` when fewer
  replicas confirmed it within :data:`REPLICA_ACK_TIMEOUT_MS` (the write stays on the primary
  but a failover could lose it).
- **One round trip per uncontended write**: the driver remembers the bytes it last read or wrote
  for each field (:class:`LastSeen`, a byte budget with least-recently-used eviction) and answers
  the read that starts a write (``ReadField(fresh=False)``) from it; the compare-and-set catches
  a stale memory and hands back the current bytes. A ``get`` always reads Redis.
- **Backoff**: a conflict on the first attempt is most likely a stale memory and is answered at
  once with the bytes the script returned; later ones come from writers in other processes
  (this process's writers of one item take turns), so the driver waits a random time up to
  ``min(cap, base * 2**attempt)`` and then reads the field afresh.
- **Errors**: a connection or timeout error is ``STORE_UNAVAILABLE``; a key of the wrong type
  (``WRONGTYPE``) is ``STORE_BAD_DATA`` naming the key; anything else Redis refuses is
  ``STORE_UNAVAILABLE`` with Redis's message.
- Change events are received by :mod:`iii_core.backends._redis_listener`.
"""

from __future__ import annotations

import abc
import hashlib
import random
import threading
from collections import OrderedDict
from collections.abc import Generator
from typing import Any, Final, NamedTuple, TypeAlias, TypeVar

import msgspec

from iii_core._extras import MissingExtra
from iii_core.backends._event_routing import publish_commands
from iii_core.store import (
    STORE_BAD_DATA,
    STORE_UNAVAILABLE,
    Changed,
    ChangeEvent,
    CompareAndSet,
    ListKeys,
    Publish,
    ReadField,
    ReadHash,
    StoreCallError,
)
from iii_core.update import MISSING

try:
    import redis
    import redis.asyncio.cluster
    import redis.cluster
    from redis.exceptions import RedisClusterException
except ModuleNotFoundError:  # pragma: no cover - exercised only without the extra
    raise MissingExtra("the Redis stores", "redis", "redis") from None

__all__ = [
    "BACKOFF_BASE_SECONDS",
    "BACKOFF_CAP_SECONDS",
    "CAS_SCRIPT",
    "CAS_SHA",
    "CONNECT_TIMEOUT_SECONDS",
    "LAST_SEEN_BYTES",
    "READY_TIMEOUT_SECONDS",
    "RECONNECT_SECONDS",
    "REDIS_ERRORS",
    "REPLICA_ACK_TIMEOUT_MS",
    "SOCKET_TIMEOUT_SECONDS",
    "SUBSCRIBE_ERRORS",
    "Command",
    "LastSeen",
    "Pause",
    "RedisDriver",
    "Scan",
    "Step",
    "backoff_seconds",
    "cas_arguments",
    "cas_outcome",
    "field_pairs",
    "glob_escape",
    "not_subscribed",
    "pack_command",
    "redis_error",
    "replicas_missing",
    "stored_form",
    "text",
]

# Budgets (every wait on Redis has one): connecting, any one command, the listener's first
# subscription, and the pause between reconnection attempts.
CONNECT_TIMEOUT_SECONDS: Final = 5.0
SOCKET_TIMEOUT_SECONDS: Final = 10.0
READY_TIMEOUT_SECONDS: Final = 5.0
RECONNECT_SECONDS: Final = 0.2
# The memory of last-seen stored bytes, per store object.
LAST_SEEN_BYTES: Final = 32 * 1024 * 1024
BACKOFF_BASE_SECONDS: Final = 0.001
BACKOFF_CAP_SECONDS: Final = 0.05
# How long a write waits for its replicas (replica_acks > 0) before it is reported unavailable.
REPLICA_ACK_TIMEOUT_MS: Final = 1000

# ARGV: field, "1" if the field is expected to exist, its expected bytes, "set" | "del" |
# "keep", the new bytes, then (PUBLISH | SPUBLISH, channel, message) per publication.
# Returns 1 when applied, else {0, current bytes or false}.
CAS_SCRIPT: Final = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '1' then
  if current ~= ARGV[3] then return {0, current} end
elseif current then
  return {0, current}
end
if ARGV[4] == 'set' then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[5])
elseif ARGV[4] == 'del' then
  redis.call('HDEL', KEYS[1], ARGV[1])
end
for i = 6, #ARGV, 3 do
  redis.call(ARGV[i], ARGV[i + 1], ARGV[i + 2])
end
return 1
"""
CAS_SHA: Final = hashlib.sha1(CAS_SCRIPT.encode()).hexdigest()

_encoder = msgspec.json.Encoder()


def glob_escape(text: str) -> str:
    """``text`` as a literal in a Redis glob pattern (SCAN MATCH)."""
    return "".join("\\" + char if char in "*?[]\\^-" else char for char in text)


CLUSTER_CLIENTS: Final = (redis.cluster.RedisCluster, redis.asyncio.cluster.RedisCluster)

# What redis-py raises when Redis cannot answer: its errors, and a cluster client's own
# exception (not a RedisError) when no node of the cluster can be reached.
REDIS_ERRORS: Final = (redis.RedisError, RedisClusterException)


# What subscribing may raise besides Redis's errors: the listener's wait for its first
# subscription timing out.
SUBSCRIBE_ERRORS: Final = (TimeoutError, *REDIS_ERRORS)


def not_subscribed(exc: BaseException) -> StoreCallError:
    return StoreCallError(STORE_UNAVAILABLE, f"Redis is unavailable: could not subscribe: {exc}")


def redis_error(exc: Exception, key: str | None = None) -> StoreCallError:
    if isinstance(exc, redis.ResponseError) and "WRONGTYPE" in str(exc):  # also inside a script
        return StoreCallError(
            STORE_BAD_DATA, f"the Redis key {key!r} is not a hash (written by another tool?)"
        )
    if isinstance(exc, (redis.ConnectionError, redis.TimeoutError, OSError, RedisClusterException)):
        return StoreCallError(STORE_UNAVAILABLE, f"Redis is unavailable: {exc}")
    return StoreCallError(STORE_UNAVAILABLE, f"Redis refused the call: {exc}")


class LastSeen:
    """The stored bytes (or ``MISSING``) this process last saw per field, within a byte
    budget, least recently used first out. Thread-safe."""

    def __init__(self, budget: int = LAST_SEEN_BYTES) -> None:
        self._budget = budget
        self._size = 0
        self._entries: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, hash_key: str, field: str) -> Any:
        """The remembered form, or ``None`` when nothing is remembered."""
        with self._lock:
            return self._entries.get((hash_key, field))

    def put(self, hash_key: str, field: str, stored: Any) -> None:
        cost = len(stored) if type(stored) is bytes else 0
        with self._lock:
            key = (hash_key, field)
            old = self._entries.pop(key, None)
            if type(old) is bytes:
                self._size -= len(old)
            if cost > self._budget:
                return
            self._entries[key] = stored
            self._size += cost
            while self._size > self._budget:
                _, evicted = self._entries.popitem(last=False)
                if type(evicted) is bytes:
                    self._size -= len(evicted)


def stored_form(raw: bytes | str | None) -> Any:
    """A Redis reply as a stored form (a client built with ``decode_responses=True`` gives
    text, which is encoded back: stored forms are bytes)."""
    if raw is None:
        return MISSING
    return raw.encode() if isinstance(raw, str) else raw


def text(name: bytes | str) -> str:
    return name.decode(errors="replace") if isinstance(name, bytes) else name


def replicas_missing(acked: int, wanted: int) -> StoreCallError:
    return StoreCallError(
        STORE_UNAVAILABLE,
        f"the write reached the primary but {acked} of {wanted} replica(s) confirmed it within "
        f"{REPLICA_ACK_TIMEOUT_MS} ms, so a failover could lose it; it may or may not stay "
        "(a Redis without replicas needs replica_acks=0)",
    )


def cas_arguments(
    op: CompareAndSet, publish: list[tuple[str, str, bytes]]
) -> tuple[list[bytes | str], Any]:
    """The script's ARGV for ``op`` with its ``publish`` commands
    (:func:`~iii_core.backends._event_routing.publish_commands`), and the stored form the field
    holds once it applied."""
    if not op.write:
        mode, new, after = "keep", b"", op.expected
    elif op.new is MISSING:
        mode, new, after = "del", b"", MISSING
    else:
        new = _encoder.encode(op.new)
        mode, after = "set", new
    expected = op.expected
    exists = expected is not MISSING
    arguments: list[bytes | str] = [
        op.field,
        "1" if exists else "0",
        expected if exists else b"",
        mode,
        new,
        *(part for command in publish for part in command),
    ]
    return arguments, after


def cas_outcome(reply: Any) -> Changed | None:
    if reply == 1:
        return None
    return Changed(stored_form(reply[1]))


def backoff_seconds(attempt: int) -> float:
    return random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt))


def field_pairs(reply: Any) -> list[tuple[str, Any]]:
    """``(field, stored form)`` of an ``HGETALL`` reply: a flat list (raw RESP2), or a dict
    (RESP3, or redis-py's response callback)."""
    if isinstance(reply, dict):
        return [(text(field), raw) for field, raw in reply.items()]
    return [(text(reply[i]), reply[i + 1]) for i in range(0, len(reply), 2)]


def pack_command(args: tuple[Any, ...]) -> bytes:
    """One command in RESP, as redis-py packs it (arguments are ``bytes``, ``str`` or
    ``int``; text goes as UTF-8)."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if type(arg) is bytes else str(arg).encode()
        parts.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(parts)


class Command(NamedTuple):
    """Send ``args`` as one command; the reply is raw. ``node_of``: on a cluster, send it to
    the primary that holds this key (``WAIT``)."""

    args: tuple[Any, ...]
    node_of: str | None = None


class Scan(NamedTuple):
    """Every key matching ``pattern`` (on a cluster: on every primary)."""

    pattern: str


class Pause(NamedTuple):
    """Wait ``seconds`` (the backoff between conflicting writes)."""

    seconds: float


Step: TypeAlias = Command | Scan | Pause
T = TypeVar("T")
Steps: TypeAlias = Generator[Step, Any, T]


class RedisDriver(abc.ABC):
    """The storage driver on Redis, sync or async: each operation of the storage protocol is
    a generator of :data:`Step` that the subclass's :meth:`_drive` performs (returning the
    result, or for the asynchronous driver an awaitable of it). Stored forms are the JSON
    bytes. ``client``: a redis-py client, sync or async, of one node or of a cluster."""

    def __init__(self, client: Any, *, engine_channel: bool = True, replica_acks: int = 0) -> None:
        self._redis = client
        self._cluster = isinstance(client, CLUSTER_CLIENTS)
        self._engine_channel = engine_channel
        self._replica_acks = replica_acks
        self._last_seen = LastSeen()

    @abc.abstractmethod
    def _drive(self, steps: Steps[Any], key: str | None) -> Any:
        """Perform ``steps`` to their end; a Redis error becomes ``redis_error(exc, key)``."""

    def read_field(self, op: ReadField) -> Any:
        return self._drive(self._read_field(op), op.hash_key)

    def read_hash(self, op: ReadHash) -> Any:
        return self._drive(self._read_hash(op), op.hash_key)

    def list_keys(self, op: ListKeys) -> Any:
        return self._drive(self._list_keys(op), None)

    def compare_and_set(self, op: CompareAndSet) -> Any:
        return self._drive(self._compare_and_set(op), op.hash_key)

    def publish(self, op: Publish) -> Any:
        # Only `stream::send` publishes outside a write; the engine fails it when the emit
        # fails (STREAM_SEND_ERROR), and so does this store.
        return self._drive(self._publish(op), None)

    def _publications(self, events: tuple[ChangeEvent, ...]) -> list[tuple[str, str, bytes]]:
        return publish_commands(events, engine_channel=self._engine_channel, cluster=self._cluster)

    def _read_field(self, op: ReadField) -> Steps[Any]:
        if not op.fresh:
            seen = self._last_seen.get(op.hash_key, op.field)
            if seen is not None:
                return seen
        stored = stored_form((yield Command(("HGET", op.hash_key, op.field))))
        self._last_seen.put(op.hash_key, op.field, stored)
        return stored

    def _read_hash(self, op: ReadHash) -> Steps[list[Any]]:
        if not op.fields:
            return list((yield Command(("HVALS", op.hash_key))))
        return field_pairs((yield Command(("HGETALL", op.hash_key))))

    def _list_keys(self, op: ListKeys) -> Steps[list[str]]:
        return [text(key) for key in (yield Scan(glob_escape(op.prefix) + "*"))]

    def _compare_and_set(self, op: CompareAndSet) -> Steps[Changed | None]:
        arguments, after = cas_arguments(op, self._publications(op.events))
        changed = cas_outcome((yield Command(("EVALSHA", CAS_SHA, 1, op.hash_key, *arguments))))
        if changed is None and op.write and self._replica_acks:
            wait = ("WAIT", self._replica_acks, REPLICA_ACK_TIMEOUT_MS)
            acked = yield Command(wait, op.hash_key if self._cluster else None)
            if acked < self._replica_acks:
                raise replicas_missing(acked, self._replica_acks)
        if changed is not None and op.attempt > 0:
            # Contended by other processes: back off, then read, so that the retry starts
            # from the value after the wait rather than the one before it.
            yield Pause(backoff_seconds(op.attempt))
            changed = Changed((yield from self._read_field(ReadField(op.hash_key, op.field))))
        self._last_seen.put(op.hash_key, op.field, after if changed is None else changed.current)
        return changed

    def _publish(self, op: Publish) -> Steps[None]:
        for command in self._publications(op.events):
            yield Command(command)
