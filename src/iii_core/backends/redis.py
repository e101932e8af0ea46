"""``RedisStore``: the stream and state store on Redis, shared by processes and machines.

Rules: a binding over the pure core, with the engine's key layout so that other tools can read
the data: stream items in hashes ``stream:{stream_name}:{group_id}`` (field = item id), state in
hashes ``state:{scope}`` (field = key), each value the item's JSON text. Unlike the engine's Lua
path, values are stored exactly as the core computed them (integers above 2**53 and 2**63,
``[]`` and ``{}`` come back as written), because every write is: read the item, run the pure
transition, then write it with an atomic compare-and-set that also publishes the change events
(:mod:`iii_core.backends._redis_cas`), retried from the read when another client changed the item
in between. Change events go out on one Redis channel and are delivered to the subscribers of
every process (this one included) by a listener thread that reconnects after a Redis restart.
A call that cannot reach Redis raises ``StoreCallError`` with code ``STORE_UNAVAILABLE``; the
next call reconnects.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any, Final

import msgspec

from iii_core._generated.state import StateChangeEvent
from iii_core._generated.stream import StreamChangeEvent
from iii_core.backends._base import ChangeEvent, Store, wall_clock_ms
from iii_core.backends._redis_cas import CAS_SCRIPT, cas_arguments
from iii_core.errors import ErrorCode
from iii_core.store import StoreCallError, Transition
from iii_core.update import MISSING

try:
    import redis
except ModuleNotFoundError as exc:  # pragma: no cover - exercised only without the extra
    raise ModuleNotFoundError(
        "iii_core.backends.redis needs the 'redis' extra: pip install 'iii-core[redis]'"
    ) from exc

__all__ = [
    "DEFAULT_CHANNEL",
    "MARKER_PREFIX",
    "UNAVAILABLE",
    "RedisStore",
    "decode_event",
    "glob_escape",
    "unavailable",
]

log = logging.getLogger("iii_core.backends.redis")

DEFAULT_CHANNEL: Final = "iii-core:events"
UNAVAILABLE: Final = ErrorCode.STORE_UNAVAILABLE
_RECONNECT_SECONDS: Final = 0.2
# Not JSON, so never mistaken for a change event by any reader of the channel.
MARKER_PREFIX: Final = b"iii-core:sync:"

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()
_EVENT_TYPES: Final[dict[str, type[ChangeEvent]]] = {
    "stream": StreamChangeEvent,
    "state": StateChangeEvent,
}


def glob_escape(text: str) -> str:
    """``text`` as a literal in a Redis glob pattern (SCAN MATCH)."""
    return "".join("\\" + char if char in "*?[]\\^-" else char for char in text)


def unavailable(exc: Exception) -> StoreCallError:
    return StoreCallError(UNAVAILABLE, f"Redis is unavailable: {exc}")


def decode_event(data: bytes) -> ChangeEvent | None:
    """A change event read from the channel, or ``None`` for anything else on it."""
    try:
        raw = _decoder.decode(data)
        return msgspec.convert(raw, _EVENT_TYPES[raw["type"]])
    except (msgspec.MsgspecError, KeyError, TypeError):
        log.warning("ignored a message on the events channel that is not a change event")
        return None


class RedisStore(Store):
    """The store on Redis. Build it with :meth:`from_url` or from a ``redis.Redis`` client
    created with ``decode_responses=False``."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        channel: str = DEFAULT_CHANNEL,
        clock: Callable[[], int] = wall_clock_ms,
        max_value_bytes: int | None = None,
    ) -> None:
        super().__init__(clock=clock, max_value_bytes=max_value_bytes)
        self._redis = client
        self._compare_and_set = client.register_script(CAS_SCRIPT)
        self._channel = channel
        self._listener: threading.Thread | None = None
        self._listener_lock = threading.Lock()
        self._closed = threading.Event()
        self._markers: dict[bytes, threading.Event] = {}
        self._markers_lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisStore:
        """``RedisStore.from_url("redis://127.0.0.1:6379/0")``."""
        return cls(redis.Redis.from_url(url), **kwargs)

    def close(self) -> None:
        self._closed.set()
        if self._listener is not None:
            self._listener.join(timeout=5)
        self._redis.close()

    def __enter__(self) -> RedisStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- storage primitives -----------------------------------------------------------------

    def _read_field(self, hash_key: str, field: str) -> Any:
        try:
            raw = self._redis.hget(hash_key, field)
        except redis.RedisError as exc:
            raise unavailable(exc) from None
        return MISSING if raw is None else _decoder.decode(raw)

    def _read_values(self, hash_key: str) -> list[Any]:
        try:
            raw_values = self._redis.hvals(hash_key)
        except redis.RedisError as exc:
            raise unavailable(exc) from None
        return [_decoder.decode(raw) for raw in raw_values]

    def _hash_keys(self, prefix: str) -> list[str]:
        try:
            keys = list(self._redis.scan_iter(match=glob_escape(prefix) + "*", count=1000))
        except redis.RedisError as exc:
            raise unavailable(exc) from None
        return [key.decode() if isinstance(key, bytes) else key for key in keys]

    def _atomic_update(
        self, hash_key: str, field: str, compute: Callable[[Any], Transition]
    ) -> Transition:
        try:
            while True:
                read = self._redis.hget(hash_key, field)
                outcome = compute(MISSING if read is None else _decoder.decode(read))
                arguments = cas_arguments(field, read, outcome, self._channel)
                if self._compare_and_set(keys=[hash_key], args=arguments):
                    return outcome
        except redis.RedisError as exc:
            raise unavailable(exc) from None

    def _publish(self, events: tuple[ChangeEvent, ...]) -> None:
        try:
            for event in events:
                self._redis.publish(self._channel, _encoder.encode(event))
        except redis.RedisError as exc:
            # Only `stream::send` publishes outside a write; the engine fails it when the emit
            # fails (STREAM_SEND_ERROR), and so does this store.
            raise unavailable(exc) from None

    # -- delivery across processes ------------------------------------------------------------

    def _add_subscription(
        self, config: Any, handler: Callable[[ChangeEvent], object]
    ) -> Callable[[], None]:
        unsubscribe = super()._add_subscription(config, handler)
        self._ensure_listener()
        return unsubscribe

    def _ensure_listener(self) -> None:
        with self._listener_lock:
            if self._listener is None:
                ready = threading.Event()
                self._listener = threading.Thread(
                    target=self._listen, args=(ready,), name="iii-core-redis-events", daemon=True
                )
                self._listener.start()
                # Subscribed before returning, so no event published after subscribe() is lost.
                ready.wait(timeout=10)

    def sync_events(self, timeout: float = 5.0) -> None:
        """Publish a marker behind every event this client published, and wait until this
        process's listener has seen it (Redis delivers one publisher's messages in order)."""
        self._ensure_listener()
        marker = MARKER_PREFIX + uuid.uuid4().hex.encode()
        seen = threading.Event()
        with self._markers_lock:
            self._markers[marker] = seen
        try:
            self._redis.publish(self._channel, marker)
            if not seen.wait(timeout):
                raise TimeoutError(f"change events not delivered within {timeout} s")
        except redis.RedisError as exc:
            raise unavailable(exc) from None
        finally:
            with self._markers_lock:
                self._markers.pop(marker, None)

    def _deliver_raw(self, data: bytes) -> None:
        if data.startswith(MARKER_PREFIX):
            with self._markers_lock:
                seen = self._markers.get(data)
            if seen is not None:
                seen.set()
            return
        event = decode_event(data)
        if event is not None:
            self._deliver((event,))

    def _listen(self, ready: threading.Event) -> None:
        while not self._closed.is_set():
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            try:
                pubsub.subscribe(self._channel)
                ready.set()
                while not self._closed.is_set():
                    message = pubsub.get_message(timeout=_RECONNECT_SECONDS)
                    if message is not None and message["type"] == "message":
                        self._deliver_raw(message["data"])
            except (redis.RedisError, OSError):
                self._closed.wait(_RECONNECT_SECONDS)
            finally:
                pubsub.close()
