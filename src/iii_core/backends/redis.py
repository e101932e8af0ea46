"""``RedisStore``: the stream and state store on Redis, shared by processes and machines.

Rules: a binding: :class:`RedisStorage`, a synchronous storage driver, driven by the core's
call flow like every other store, with the engine's key layout so that other tools can read
the data (stream items in hashes ``stream:{stream_name}:{group_id}``, field = item id; state in
hashes ``state:{scope}``, field = key; each value the item's JSON text). Values are stored
exactly as the core computed them (integers above 2**53 and 2**63, ``[]`` and ``{}`` come back
as written). A write is one compare-and-set script that also publishes the change events
(:mod:`iii_core.backends._redis_common`): one round trip when this process saw the item's
current value last, a retry with backoff when another process changed it.

Change events go out on one Redis channel and are delivered to the subscribers of every process
(this one included) by a listener thread on redis-py's ``PubSub``, which reconnects and
re-subscribes by itself after a dropped connection (a Redis restart, ``CLIENT KILL``, an event
over Redis's ``client-output-buffer-limit pubsub``); when it has re-subscribed, the store calls
every ``on_resync`` handler, because events published while it was away are lost for it. A
message on the channel that is not a change event is logged (rate-limited) and skipped.

Every wait has a bound: connecting 5 s, any command 10 s, the first subscription 5 s. A call
that cannot reach Redis raises ``StoreCallError`` with code ``STORE_UNAVAILABLE``; the next call
reconnects.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from iii_core._extras import MissingExtra
from iii_core.backends._base import Store, wall_clock_ms
from iii_core.backends._redis_common import (
    CAS_SCRIPT,
    CONNECT_TIMEOUT_SECONDS,
    DEFAULT_CHANNEL,
    MARKER_PREFIX,
    READY_TIMEOUT_SECONDS,
    RECONNECT_SECONDS,
    SOCKET_TIMEOUT_SECONDS,
    LastSeen,
    backoff_seconds,
    cas_arguments,
    cas_outcome,
    classify,
    glob_escape,
    redis_error,
    stored_form,
)
from iii_core.backends._redis_common import (
    text as _text,
)
from iii_core.backends._subscribers import RateLimitedWarning
from iii_core.store import (
    STORE_UNAVAILABLE,
    Changed,
    CompareAndSet,
    ListKeys,
    Publish,
    ReadField,
    ReadHash,
    StoreCallError,
    encode_result,
)

try:
    import redis
except ModuleNotFoundError:  # pragma: no cover - exercised only without the extra
    raise MissingExtra("iii_core.backends.redis", "redis", "redis") from None

__all__ = ["DEFAULT_CHANNEL", "RedisStorage", "RedisStore", "client_options"]


def client_options() -> dict[str, Any]:
    """The timeouts every Redis client of a store is built with."""
    return {
        "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "socket_timeout": SOCKET_TIMEOUT_SECONDS,
        "health_check_interval": 30,
    }


class RedisStorage:
    """The synchronous storage driver on Redis; stored forms are the JSON bytes."""

    def __init__(self, client: redis.Redis, channel: str) -> None:
        self._redis = client
        self._compare_and_set = client.register_script(CAS_SCRIPT)
        self._channel = channel
        self._last_seen = LastSeen()

    def read_field(self, op: ReadField) -> Any:
        if not op.fresh:
            seen = self._last_seen.get(op.hash_key, op.field)
            if seen is not None:
                return seen
        try:
            stored = stored_form(self._redis.hget(op.hash_key, op.field))
        except redis.RedisError as exc:
            raise redis_error(exc, op.hash_key) from None
        self._last_seen.put(op.hash_key, op.field, stored)
        return stored

    def read_hash(self, op: ReadHash) -> list[Any]:
        try:
            if not op.fields:
                return list(self._redis.hvals(op.hash_key))
            fields = self._redis.hgetall(op.hash_key)
        except redis.RedisError as exc:
            raise redis_error(exc, op.hash_key) from None
        return [(_text(field), raw) for field, raw in fields.items()]

    def list_keys(self, op: ListKeys) -> list[str]:
        try:
            keys = list(self._redis.scan_iter(match=glob_escape(op.prefix) + "*", count=1000))
        except redis.RedisError as exc:
            raise redis_error(exc) from None
        return [_text(key) for key in keys]

    def compare_and_set(self, op: CompareAndSet) -> Changed | None:
        arguments, after = cas_arguments(op, self._channel)
        try:
            reply = self._compare_and_set(keys=[op.hash_key], args=arguments)
        except redis.RedisError as exc:
            raise redis_error(exc, op.hash_key) from None
        changed = cas_outcome(reply)
        if changed is not None and op.attempt > 0:
            # Contended by other processes: back off, then read, so that the retry starts
            # from the value after the wait rather than the one before it.
            time.sleep(backoff_seconds(op.attempt))
            changed = Changed(self.read_field(ReadField(op.hash_key, op.field)))
        self._last_seen.put(op.hash_key, op.field, after if changed is None else changed.current)
        return changed

    def publish(self, op: Publish) -> None:
        try:
            for event in op.events:
                self._redis.publish(self._channel, encode_result(event))
        except redis.RedisError as exc:
            # Only `stream::send` publishes outside a write; the engine fails it when the emit
            # fails (STREAM_SEND_ERROR), and so does this store.
            raise redis_error(exc) from None


class RedisStore(Store):
    """The store on Redis. Build it with :meth:`from_url` or from a ``redis.Redis`` client
    created with ``decode_responses=False``."""

    shares_values = False  # every result is decoded afresh from Redis's bytes

    def __init__(
        self,
        client: redis.Redis,
        *,
        channel: str = DEFAULT_CHANNEL,
        clock: Callable[[], int] = wall_clock_ms,
        max_value_bytes: int | None = None,
    ) -> None:
        super().__init__(
            RedisStorage(client, channel), clock=clock, max_value_bytes=max_value_bytes
        )
        self._redis = client
        self._channel = channel
        self._listener: threading.Thread | None = None
        self._listener_lock = threading.Lock()
        self._subscribed = threading.Event()
        self._closed = threading.Event()
        # One report per minute at most, per store, of each kind of trouble on the channel.
        self._warn_channel = RateLimitedWarning("ignored a message on the events channel")
        self._warn_listener = RateLimitedWarning("the Redis events listener lost its connection")
        self._markers: dict[bytes, threading.Event] = {}
        self._markers_lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisStore:
        """``RedisStore.from_url("redis://127.0.0.1:6379/0")``."""
        return cls(redis.Redis.from_url(url, **client_options()), **kwargs)

    def close(self) -> None:
        self._closed.set()
        if self._listener is not None:
            self._listener.join(timeout=5)
        self._redis.close()

    def __enter__(self) -> RedisStore:
        return self

    # -- delivery across processes ------------------------------------------------------------

    def _start_events(self) -> None:
        with self._listener_lock:
            if self._listener is None:
                self._listener = threading.Thread(
                    target=self._listen, name="iii-core-redis-events", daemon=True
                )
                self._listener.start()
        # Subscribed before returning, so no event published after subscribe() is lost.
        if not self._subscribed.wait(READY_TIMEOUT_SECONDS):
            raise StoreCallError(
                STORE_UNAVAILABLE,
                f"Redis is unavailable: could not subscribe to {self._channel!r} "
                f"within {READY_TIMEOUT_SECONDS:g} s",
            )

    def sync_events(self, timeout: float = 5.0) -> None:
        """Publish a marker behind every event this client published, and wait until this
        process's listener has seen it (Redis delivers one publisher's messages in order)."""
        self._start_events()
        marker = MARKER_PREFIX + uuid.uuid4().hex.encode()
        seen = threading.Event()
        with self._markers_lock:
            self._markers[marker] = seen
        try:
            self._redis.publish(self._channel, marker)
            if not seen.wait(timeout):
                raise TimeoutError(f"change events not delivered within {timeout} s")
        except redis.RedisError as exc:
            raise redis_error(exc) from None
        finally:
            with self._markers_lock:
                self._markers.pop(marker, None)

    def _listen(self) -> None:
        pubsub = self._redis.pubsub()  # type: ignore[no-untyped-call]
        # Our own loop around redis-py's PubSub rather than run_in_thread()/run(): PubSub
        # reconnects and re-subscribes by itself, but only the subscribe confirmation, which
        # those helpers swallow, says when it is listening again (the moment to resync).
        requested = False
        try:
            while not self._closed.is_set():
                try:
                    if not requested:
                        pubsub.subscribe(self._channel)
                        requested = True  # from now on redis-py re-subscribes on reconnect
                    message = pubsub.get_message(timeout=RECONNECT_SECONDS)
                except Exception as exc:  # the listener outlives any fault
                    self._warn_listener(f"{type(exc).__name__}: {exc}; reconnecting")
                    self._closed.wait(RECONNECT_SECONDS)
                    continue
                if message is not None:
                    self._handle(message)
        finally:
            pubsub.close()

    def _handle(self, message: Any) -> None:
        meaning = classify(message, self._warn_channel)
        if meaning.subscribed:
            if self._subscribed.is_set():
                self._subscribers.resync()  # re-subscribed after a drop: events were missed
            self._subscribed.set()
        elif meaning.marker is not None:
            with self._markers_lock:
                seen = self._markers.get(meaning.marker)
            if seen is not None:
                seen.set()
        elif meaning.event is not None:
            self._subscribers.deliver((meaning.event,))
