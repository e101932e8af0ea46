"""``iii-core copy SRC DST``: every stream item and state key from one store into another.

Rules: a binding. A store is named by a spec — ``engine-dir:PATH`` (an app's data directory in
the engine's file format), ``log:PATH`` (the durable embedded store), ``redis://…`` (also
``rediss://``, ``unix://``) or ``redis-cluster://…`` — and opened as an *endpoint*: every hash
with its items, in the store's order; and a bulk write of one hash's items, in order. Items go
over raw, as values: no change events are published and no ``set`` semantics run (no
timestamps, no ``max_value_bytes``), since this is a copy of data, not a series of calls.

The target is merged into, not cleared: an item with the same stream/group/id (or scope/key)
is overwritten in place, others stay. Items keep their insertion order where the target keeps
order (engine dir, log; a Redis hash keeps it only while it is small). Source and target must
differ. A copy is idempotent: one that fails midway (the error names the store) leaves what it
had written, and running it again completes it. The source is read a hash at a time (a
pipeline of :data:`REDIS_BATCH` hashes from Redis), so besides what the stores themselves hold,
memory holds at most that much; nothing is written in a dry run (``--dry-run`` counts what would
be copied and does not open the target).

Budgets: Redis reads and writes go in pipelines of :data:`REDIS_BATCH` keys / fields. The
progress bar (stderr, redrawn at most every :data:`PROGRESS_INTERVAL` s) shows on a terminal or
with ``--progress``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, Final, Protocol

import msgspec

from iii_core._cli_exit import EXIT_OK, CommandError
from iii_core._extras import require_extra
from iii_core._json import loads
from iii_core.errors import ErrorCode, IIICoreError
from iii_core.store import (
    ListKeys,
    ReadHash,
    StoreCallError,
    decode_stored,
)

__all__ = [
    "PROGRESS_INTERVAL",
    "REDIS_BATCH",
    "CopyError",
    "CopySummary",
    "add_copy_command",
    "copy_stores",
    "open_endpoint",
    "run_copy",
]

REDIS_BATCH: Final = 1000
PROGRESS_INTERVAL: Final = 0.1
_PREFIXES: Final = ("stream:", "state:")
_CLUSTER: Final = "redis-cluster://"
_HELP: Final = """\
Copy every stream item and state key from the store SRC into the store DST.

Stores:
  engine-dir:PATH       an iii app's data directory (the engine's file-based kv store:
                        PATH/stream_store and PATH/state_store.db), or engine-dir:STREAMS:STATE
                        naming each worker's file_path; the engine must not run on it
  log:PATH              the embedded store's durable log file (iii-core --data PATH)
  redis://HOST:PORT/DB  a Redis store (also rediss:// and unix://)
  redis-cluster://HOST:PORT  a Redis Cluster store

DST is merged into: items with the same ids are overwritten, others kept. Items keep their
insertion order where DST keeps order. No change events are published. Prints a summary line
on stdout; exit status 0 on success, 1 with a one-line error on stderr otherwise.
"""

_encoder = msgspec.json.Encoder()


class CopyError(IIICoreError):
    """A copy that cannot start or could not finish (the message says which store and why)."""

    code = ErrorCode.COPY_FAILED


Items = list[tuple[str, Any]]


class Endpoint(Protocol):
    """One store, opened for a copy."""

    ordered: bool

    def hashes(self) -> Iterator[tuple[str, Items]]:
        """Every non-empty stream group / state scope hash with its items, in order."""
        ...

    def count(self) -> tuple[int, int, int]:
        """``(stream groups, state scopes, items)`` that :meth:`hashes` yields."""
        ...

    def write(self, hash_key: str, items: Items) -> None:
        """Store ``items`` in ``hash_key``, in order; durable when it returns."""
        ...

    def close(self) -> None: ...


def _tally(sizes: Iterable[tuple[str, int]]) -> tuple[int, int, int]:
    groups = scopes = items = 0
    for hash_key, size in sizes:
        if size:
            if hash_key.startswith("stream:"):
                groups += 1
            else:
                scopes += 1
            items += size
    return groups, scopes, items


class _EngineDirEndpoint:
    """An app's data directory, through the engine directory store's storage driver:
    ``ListKeys`` and ``ReadHash`` to read (in the engine's order), one file write per hash."""

    ordered = True

    def __init__(self, spec: str) -> None:
        from iii_core.backends.engine_dir import EngineDirStore

        self._store = EngineDirStore.from_spec(spec)
        if self._store.unreadable:
            self._store.close()
            listed = "; ".join(f"{name}: {why}" for name, why in self._store.unreadable.items())
            raise CopyError(f"engine-dir:{spec} has unreadable index files: {listed}")
        self._storage = self._store.storage

    def _keys(self) -> list[str]:
        return [key for prefix in _PREFIXES for key in self._storage.list_keys(ListKeys(prefix))]

    def hashes(self) -> Iterator[tuple[str, Items]]:
        for hash_key in self._keys():
            pairs = self._storage.read_hash(ReadHash(hash_key, fields=True))
            if pairs:
                yield hash_key, [(f, decode_stored(s, hash_key, f)) for f, s in pairs]

    def count(self) -> tuple[int, int, int]:
        return _tally((key, len(self._storage.read_hash(ReadHash(key)))) for key in self._keys())

    def write(self, hash_key: str, items: Items) -> None:
        self._storage.put_items(hash_key, dict(items))

    def close(self) -> None:
        self._store.close()


class _LogEndpoint:
    """The embedded store's durable log (``MemoryStore(path)``'s file), through
    :class:`~iii_core.backends._durable_log.DurableLog`: replayed (and locked) on open, each item
    appended as one set record, compacted as the log decides."""

    ordered = True

    def __init__(self, path: str) -> None:
        from iii_core.backends._durable_log import DurableLog

        self._log, self._hashes = DurableLog.open(path)

    def hashes(self) -> Iterator[tuple[str, Items]]:
        for hash_key, fields in self._hashes.items():
            if fields and hash_key.startswith(_PREFIXES):
                yield hash_key, list(fields.items())

    def count(self) -> tuple[int, int, int]:
        return _tally(
            (key, len(fields)) for key, fields in self._hashes.items() if key.startswith(_PREFIXES)
        )

    def write(self, hash_key: str, items: Items) -> None:
        fields = self._hashes.setdefault(hash_key, {})
        for field, value in items:
            self._log.append_set(hash_key, field, value)
            fields[field] = value
        self._log.maybe_compact(self._hashes)

    def close(self) -> None:
        self._log.close()


class _RedisEndpoint:
    """A Redis store in the engine's key layout (``RedisStore``'s): hashes ``stream:{s}:{g}``
    and ``state:{scope}``, each field's value its JSON text. Read with SCAN and pipelined
    HGETALL, written with pipelined HSET."""

    ordered = False

    def __init__(self, url: str) -> None:
        require_extra("redis", "iii-core copy from or to Redis")
        import redis
        from redis.cluster import RedisCluster

        self._redis_error: tuple[type[Exception], ...] = (
            redis.RedisError,
            redis.exceptions.RedisClusterException,
        )
        self._url = url
        cluster = url.startswith(_CLUSTER)
        try:
            # A cluster client finds every node from one and sends each key to its slot's node;
            # its SCAN walks every primary.
            self._client: Any = (
                RedisCluster.from_url("redis://" + url[len(_CLUSTER) :])
                if cluster
                else redis.Redis.from_url(url)
            )
            self._client.ping()
        except self._redis_error as exc:
            raise CopyError(f"{url}: Redis is unavailable: {exc}") from None

    def _keys(self) -> list[bytes]:
        keys: list[bytes] = []
        for prefix in _PREFIXES:
            keys.extend(self._client.scan_iter(match=prefix + "*", count=REDIS_BATCH))
        return keys

    def _batches(self, keys: Sequence[bytes], command: str) -> Iterator[tuple[bytes, Any]]:
        for start in range(0, len(keys), REDIS_BATCH):
            batch = keys[start : start + REDIS_BATCH]
            pipe = self._client.pipeline(transaction=False)
            for key in batch:
                getattr(pipe, command)(key)
            yield from zip(batch, pipe.execute(raise_on_error=True), strict=True)

    def hashes(self) -> Iterator[tuple[str, Items]]:
        try:
            for key, raw in self._batches(self._keys(), "hgetall"):
                hash_key = key.decode()
                items = []
                for field, value in raw.items():
                    try:
                        # Read as the Redis store reads a stored value (serde_json's numbers).
                        items.append((field.decode(), loads(value, max_depth=None)))
                    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
                        raise CopyError(
                            f"{self._url}: field {field!r} of {hash_key!r} is not JSON: {exc}"
                        ) from None
                if items:
                    yield hash_key, items
        except self._redis_error as exc:
            raise CopyError(f"{self._url}: {exc}") from None

    def count(self) -> tuple[int, int, int]:
        try:
            return _tally((key.decode(), size) for key, size in self._batches(self._keys(), "hlen"))
        except self._redis_error as exc:
            raise CopyError(f"{self._url}: {exc}") from None

    def write(self, hash_key: str, items: Items) -> None:
        try:
            for start in range(0, len(items), REDIS_BATCH):
                batch = items[start : start + REDIS_BATCH]
                mapping: dict[Any, bytes] = {f: _encoder.encode(v) for f, v in batch}
                self._client.hset(hash_key, mapping=mapping)
        except self._redis_error as exc:
            raise CopyError(f"{self._url}: {exc}") from None

    def close(self) -> None:
        self._client.close()


# spec prefix → (opener, whether the rest of the spec is a path)
_KINDS: Final[dict[str, tuple[Callable[[str], Endpoint], bool]]] = {
    "engine-dir:": (_EngineDirEndpoint, True),
    "log:": (_LogEndpoint, True),
    "redis://": (_RedisEndpoint, False),
    "rediss://": (_RedisEndpoint, False),
    "unix://": (_RedisEndpoint, False),
    _CLUSTER: (_RedisEndpoint, False),
}


def _parse(spec: str) -> tuple[Callable[[str], Endpoint], str, str]:
    """(opener, argument, identity): the identity tells two specs of one store apart."""
    for prefix, (opener, is_path) in _KINDS.items():
        if spec.startswith(prefix):
            rest = spec[len(prefix) :] if is_path else spec
            if not rest:
                break
            if prefix == "engine-dir:":
                identity = prefix + ":".join(_engine_directories(spec))
            else:
                identity = prefix + os.path.realpath(rest) if is_path else spec
            return opener, rest, identity
    kinds = ", ".join(f"{prefix}…" for prefix in _KINDS)
    raise CopyError(f"{spec!r} names no store; use one of {kinds}")


def _check_source(spec: str) -> None:
    """A source must already hold data: opening a missing log or engine directory would
    create an empty one, and a mistyped path would copy nothing without a word."""
    if spec.startswith("log:") and not os.path.isfile(spec[4:]):
        raise CopyError(f"{spec}: no such log file")
    if spec.startswith("engine-dir:"):
        directories = _engine_directories(spec)
        if not any(os.path.isdir(directory) for directory in directories):
            raise CopyError(
                f"{spec}: neither {directories[0]} nor {directories[1]} exists (the engine's "
                "kv directories: name the app's data directory, or STREAMS_DIR:STATE_DIR)"
            )


def _engine_directories(spec: str) -> tuple[str, str]:
    from iii_core.backends.engine_dir import engine_directories

    try:
        streams, state = engine_directories(spec[len("engine-dir:") :])
    except StoreCallError as exc:
        raise CopyError(exc.message) from None
    return os.path.realpath(streams), os.path.realpath(state)


def open_endpoint(spec: str) -> Endpoint:
    """Open the store ``spec`` names (see the module docstring) for a copy."""
    opener, argument, _ = _parse(spec)
    try:
        return opener(argument)
    except StoreCallError as exc:
        raise CopyError(f"{spec}: {exc.message}") from None
    except (OSError, ValueError) as exc:
        raise CopyError(f"{spec}: {exc}") from None


@dataclass(frozen=True)
class CopySummary:
    """What a copy did (or, in a dry run, would do)."""

    items: int
    stream_groups: int
    state_scopes: int
    seconds: float
    dry_run: bool

    def line(self, source: str, target: str) -> str:
        verb = "would copy" if self.dry_run else "copied"
        text = (
            f"{verb} {self.items} items ({self.stream_groups} stream groups, "
            f"{self.state_scopes} state scopes) from {source} to {target}"
        )
        if not self.dry_run:
            rate = self.items / self.seconds if self.seconds > 0 else 0.0
            text += f" in {self.seconds:.2f} s ({rate:,.0f} items/s)"
        return text


class _Progress:
    """``\\r``-redrawn progress on ``out``, at most every :data:`PROGRESS_INTERVAL` s."""

    def __init__(self, out: IO[str] | None, total: int) -> None:
        self._out = out
        self._total = total
        self._started = self._drawn = time.monotonic()

    def update(self, done: int, *, final: bool = False) -> None:
        if self._out is None:
            return
        now = time.monotonic()
        if not final and now - self._drawn < PROGRESS_INTERVAL:
            return
        self._drawn = now
        share = done / self._total if self._total else 1.0
        bar = "#" * int(share * 30)
        rate = done / (now - self._started) if now > self._started else 0.0
        self._out.write(
            f"\r[{bar:<30}] {done:,}/{self._total:,} items {share:4.0%} {rate:,.0f}/s"
            + ("\n" if final else "")
        )
        self._out.flush()


def copy_stores(
    source: str, target: str, *, dry_run: bool = False, progress: IO[str] | None = None
) -> CopySummary:
    """Copy every item of the store ``source`` into the store ``target`` (specs as in the
    module docstring); ``progress``: where to draw a progress bar, if anywhere."""
    started = time.monotonic()
    if _parse(source)[2] == _parse(target)[2]:
        raise CopyError(f"source and destination are the same store: {source}")
    _check_source(source)
    src = open_endpoint(source)
    try:
        counted_groups, counted_scopes, total = src.count()
        if dry_run:
            return CopySummary(total, counted_groups, counted_scopes, 0.0, dry_run=True)
        dst = open_endpoint(target)
        try:
            done = groups = scopes = 0
            bar = _Progress(progress, total)
            for hash_key, items in src.hashes():
                try:
                    dst.write(hash_key, items)
                except StoreCallError as exc:
                    raise CopyError(f"{target}: {exc.message}") from None
                done += len(items)
                if hash_key.startswith("stream:"):
                    groups += 1
                else:
                    scopes += 1
                bar.update(done)
            bar.update(done, final=True)
        finally:
            dst.close()
    except StoreCallError as exc:
        raise CopyError(f"{source}: {exc.message}") from None
    finally:
        src.close()
    return CopySummary(done, groups, scopes, time.monotonic() - started, dry_run=False)


def add_copy_command(commands: Any, *, epilog: str | None = None) -> None:
    """Register ``copy`` on the ``iii-core`` subcommand parser (``epilog``: the exit statuses
    every command lists)."""
    copy = commands.add_parser(
        "copy",
        help="copy every stream item and state key from one store into another",
        description=_HELP,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    copy.add_argument("source", metavar="SRC", help="the store to read")
    copy.add_argument("target", metavar="DST", help="the store to write into")
    copy.add_argument("--dry-run", action="store_true", help="count what would be copied")
    copy.add_argument(
        "--progress", action="store_true", help="draw a progress bar even when not on a terminal"
    )
    copy.set_defaults(run=run_copy)


def run_copy(args: argparse.Namespace) -> int:
    """The ``copy`` command: summary on stdout; a copy that fails is a :class:`CommandError`
    (one line on stderr, exit status 1)."""
    draw = args.progress or sys.stderr.isatty()
    try:
        summary = copy_stores(
            args.source,
            args.target,
            dry_run=args.dry_run,
            progress=sys.stderr if draw and not args.dry_run else None,
        )
    except CopyError as exc:
        raise CommandError(f"iii-core copy: {exc.message}") from None
    print(summary.line(args.source, args.target), flush=True)
    return EXIT_OK
