"""``EngineDirStore``: an iii app's own data, the engine's file-based kv store, opened in place.

Rules: a binding. The storage driver :class:`EngineDirStorage` answers the storage protocol of
:mod:`iii_core.store` (the one call flow every store runs) over the two directories the engine's
``kv`` adapter with ``store_method: file_based`` keeps: the stream worker's (``file_path``,
shipped as ``./data/stream_store``; index ``stream:{stream}:{group}``) and the state worker's
(shipped as ``./data/state_store.db``; index = the scope). Files are read and written in the
engine's format (:mod:`iii_core.backends._engine_dir_format`): an index we never change keeps
its bytes, and one we change is written exactly as the engine would write it.

Semantics are the engine's kv store: items keep insertion order (an overwrite keeps the item's
place, a delete and re-create moves it to the end); an index whose last item is deleted loses
its file (the engine's ``DirtyOp::Delete``) but stays listed until the store is reopened.

Durability: every acknowledged write has rewritten its index's file before the call returns —
the whole index to ``NAME.bin.tmp``, then renamed over ``NAME.bin`` (or the file is deleted),
as the engine does — so a crash of the process, even ``kill -9``, loses no acknowledged write
and never leaves a torn file. ``fsync=True`` also fsyncs the file and the directory, for crashes
of the machine. (The engine itself saves every ``save_interval_ms``, 5 s by default.) A write
costs the size of its index: the format has one file per index.

Sharing: one process at a time. Opening takes an exclusive ``flock`` on ``.iii-core.lock`` in
each directory (a file the engine ignores); a second iii-core process gets ``STORE_LOCKED``
(the durable log's code) naming the holder's pid. The iii engine takes no lock and keeps its
own copy of every index in memory, rewriting whole files from it: running it on the same
directories at the same time loses writes on both sides. Do not. When we can tell -- an index
file replaced, modified, created or deleted since this store read or wrote it (inode, size,
modification time) -- a write to it is refused with ``STORE_CONFLICT`` and nothing is written;
the engine's next save would still overwrite ours, which we cannot prevent. Reads answer from
memory and do not look again. Opening also warns (logs) about a running ``iii`` process whose
working directory holds the data directories (:func:`engine_processes`).

Unreadable index files are reported by name: every call touching that index fails with
``STORE_BAD_DATA`` naming the file and the reason, and the file is never overwritten; files the
engine itself would not load (names it cannot decode, leftover ``.tmp`` files, the ``.bin`` of
the empty index, non-stream indexes in the stream directory) are listed in :attr:`skipped` and
logged, never touched.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NamedTuple

from iii_core._engine_dir_layout import ENGINE_DIR_HELP, STATE_SUBDIR, STREAM_SUBDIR
from iii_core.backends._base import ChangeEvent, LocalStore, wall_clock_ms
from iii_core.backends._durable_log import STORE_LOCKED, STORE_OPEN_FAILED
from iii_core.backends._engine_dir_format import (
    INDEX_SUFFIX,
    TEMP_SUFFIX,
    EngineFormatError,
    archive_text,
    decode_index_file,
    engine_value,
    index_file_name,
    index_from_file_name,
    item_part,
    join_parts,
)
from iii_core.store import (
    STORE_BAD_DATA,
    STORE_CONFLICT,
    STORE_UNAVAILABLE,
    STORE_WRITE_FAILED,
    Changed,
    CompareAndSet,
    ListKeys,
    Publish,
    ReadField,
    ReadHash,
    StoreCallError,
)
from iii_core.update import MISSING

__all__ = [
    "ENGINE_DIR_HELP",
    "LOCK_FILE_NAME",
    "STATE_SUBDIR",
    "STREAM_SUBDIR",
    "EngineDirStorage",
    "EngineDirStore",
    "engine_directories",
    "engine_processes",
]

log = logging.getLogger("iii_core.backends.engine_dir")

# The shipped iii.worker.yaml files of the stream and state workers (file_path under ./data).
LOCK_FILE_NAME: Final = ".iii-core.lock"
_STREAM_PREFIX: Final = "stream:"
_STATE_PREFIX: Final = "state:"


class _Stamp(NamedTuple):
    """What we last saw of an index file: enough to tell that someone else replaced it."""

    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, stat: os.stat_result) -> _Stamp:
        return cls(stat.st_ino, stat.st_size, stat.st_mtime_ns)


@dataclass(frozen=True)
class _Dir:
    """One of the engine's two directories and how its indexes map to our hash keys."""

    path: Path
    prefix: str  # the hash-key prefix our store uses for its indexes
    strip: bool  # state: the index is the scope alone, without our "state:" prefix

    def hash_key(self, index: str) -> str | None:
        if self.strip:
            return self.prefix + index
        return index if index.startswith(self.prefix) else None

    def file_for(self, hash_key: str) -> Path:
        index = hash_key[len(self.prefix) :] if self.strip else hash_key
        return self.path / index_file_name(index)


def _why(exc: OSError | EngineFormatError) -> str:
    """The reason to tell the user: an OS error as Python words it, a format error's message
    (its ``str()`` carries the code, which the message it goes into names already)."""
    return exc.message if isinstance(exc, EngineFormatError) else str(exc)


def _lock_dir(path: Path) -> int:
    fd = os.open(path / LOCK_FILE_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise StoreCallError(
            STORE_LOCKED,
            f"{path} is in use by another iii-core process (pid {holder}, lock "
            f"{path / LOCK_FILE_NAME}); one process at a time may open an engine directory",
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def engine_directories(spec: str) -> tuple[Path, Path]:
    """The stream and state directories a command line names: ``DIR`` (an app's data
    directory, holding the engine's shipped ``stream_store`` and ``state_store.db``) or
    ``STREAMS_DIR:STATE_DIR`` (each worker's ``file_path``, separated by ``os.pathsep`` as in
    ``PATH``)."""
    streams, separator, state = spec.partition(os.pathsep)
    if not separator:
        return Path(spec) / STREAM_SUBDIR, Path(spec) / STATE_SUBDIR
    if not streams or not state or os.pathsep in state:
        raise StoreCallError(
            STORE_OPEN_FAILED, f"{spec!r}: expected DIR or STREAMS_DIR{os.pathsep}STATE_DIR"
        )
    return Path(streams), Path(state)


def engine_processes(directories: tuple[Path, ...]) -> list[tuple[int, str]]:
    """``(pid, working directory)`` of every running ``iii`` engine process (the engine's
    binary name) whose working directory holds one of ``directories``: the engine's shipped
    ``file_path`` values are relative (``./data/...``), so such a process is likely using them.
    Linux ``/proc`` only; elsewhere, or for processes we may not inspect, nothing is found."""
    targets = [os.path.realpath(d) for d in directories]
    found = []
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/comm", "rb") as comm:
                    if comm.read().strip() != b"iii":
                        continue
                cwd = os.readlink(f"/proc/{entry.name}/cwd")
            except OSError:
                continue
            if any(target == cwd or target.startswith(cwd.rstrip("/") + "/") for target in targets):
                found.append((int(entry.name), cwd))
    return found


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class EngineDirStorage:
    """The storage driver (:class:`iii_core.store.Storage`) over the engine's directories.

    Stored forms are the decoded values themselves (compared by identity in
    ``compare_and_set``; they are never mutated). Thread-safe: one lock serialises every
    operation, as the engine's one ``RwLock`` does.
    """

    def __init__(
        self,
        streams: str | os.PathLike[str],
        state: str | os.PathLike[str],
        *,
        fsync: bool = False,
        publish: Callable[[tuple[ChangeEvent, ...]], None] = lambda events: None,
    ) -> None:
        self._dirs = (
            _Dir(Path(streams), _STREAM_PREFIX, strip=False),
            _Dir(Path(state), _STATE_PREFIX, strip=True),
        )
        if self._dirs[0].path.resolve() == self._dirs[1].path.resolve():
            raise StoreCallError(
                STORE_OPEN_FAILED,
                "the stream and state directories must differ (the engine's two workers each "
                "keep their own; in one directory a scope named 'stream:...' is ambiguous)",
            )
        self._fsync = fsync
        self._publish_events = publish
        self._lock = threading.RLock()
        self._items: dict[str, dict[str, Any]] = {}
        self._parts: dict[str, dict[str, bytes]] = {}  # encoded members, built on first write
        self._stamps: dict[str, _Stamp] = {}
        self.unreadable: dict[str, str] = {}
        """Index files that cannot be read: path → reason. Calls on their index fail."""
        self.skipped: dict[str, str] = {}
        """Files the engine would not load either: path → why. Never touched."""
        self._lock_fds: list[int] = []
        try:
            for where in self._dirs:
                try:
                    where.path.mkdir(parents=True, exist_ok=True)
                    self._lock_fds.append(_lock_dir(where.path))
                except OSError as exc:
                    raise StoreCallError(
                        STORE_OPEN_FAILED, f"cannot open the engine directory {where.path}: {exc}"
                    ) from None
            for where in self._dirs:
                self._load(where)
        except BaseException:
            self.close()
            raise
        for pid, cwd in engine_processes(tuple(where.path for where in self._dirs)):
            log.warning(
                "an iii engine process (pid %d, working directory %s) may be using %s: it keeps "
                "its own copy in memory and rewrites whole files, so stop it before writing "
                "here (writes to files it changes are refused)",
                pid,
                cwd,
                " and ".join(str(where.path) for where in self._dirs),
            )

    # -- loading ------------------------------------------------------------------------------

    def _load(self, where: _Dir) -> None:
        for entry in sorted(os.scandir(where.path), key=lambda e: e.name):
            if entry.name == LOCK_FILE_NAME or not entry.is_file():
                continue
            index = index_from_file_name(entry.name)
            if index is None:
                if entry.name.endswith(INDEX_SUFFIX + TEMP_SUFFIX):
                    self._skip(entry.path, "a temporary file left by an interrupted write")
                elif entry.name == INDEX_SUFFIX:
                    self._skip(entry.path, "the empty index's file, which the engine never loads")
                elif entry.name.endswith(INDEX_SUFFIX):
                    self._skip(entry.path, "a name the engine cannot decode as an index")
                continue
            hash_key = where.hash_key(index)
            if hash_key is None:
                self._skip(entry.path, f"index {index!r} is not a stream group")
                continue
            self._load_file(hash_key, Path(entry.path))

    def _skip(self, path: str, why: str) -> None:
        self.skipped[path] = why
        log.warning("engine directory: skipping %s: %s", path, why)

    def _load_file(self, hash_key: str, path: Path) -> None:
        try:
            with open(path, "rb") as file:
                stamp = _Stamp.of(os.fstat(file.fileno()))
                data = file.read()
            items = decode_index_file(data)
        except (OSError, EngineFormatError) as exc:
            self.unreadable[str(path)] = _why(exc)
            self._items.setdefault(hash_key, {})
            log.error("engine directory: cannot read %s: %s", path, exc)
            return
        self._stamps[hash_key] = stamp
        self._items[hash_key] = items

    # -- the storage protocol -----------------------------------------------------------------

    def _dir(self, hash_key: str) -> _Dir:
        for where in self._dirs:
            if hash_key.startswith(where.prefix):
                return where
        raise StoreCallError(STORE_BAD_DATA, f"{hash_key!r} is neither a stream nor a state key")

    @property
    def directories(self) -> tuple[Path, Path]:
        """The stream and the state directory."""
        return self._dirs[0].path, self._dirs[1].path

    def _check_open(self) -> None:
        if not self._lock_fds:
            raise StoreCallError(STORE_UNAVAILABLE, "the engine directory store is closed")

    def _readable(self, hash_key: str) -> dict[str, Any]:
        self._check_open()
        if self.unreadable:
            path = str(self._dir(hash_key).file_for(hash_key))
            if path in self.unreadable:
                raise StoreCallError(
                    STORE_BAD_DATA,
                    f"index file {path} cannot be read ({self.unreadable[path]}); "
                    "iii-core neither reads nor overwrites it",
                )
        return self._items.get(hash_key, {})

    def read_field(self, op: ReadField) -> Any:
        with self._lock:
            return self._readable(op.hash_key).get(op.field, MISSING)

    def read_hash(self, op: ReadHash) -> list[Any]:
        with self._lock:
            items = self._readable(op.hash_key)
            return list(items.items() if op.fields else items.values())

    def list_keys(self, op: ListKeys) -> list[str]:
        with self._lock:
            self._check_open()
            return [key for key in self._items if key.startswith(op.prefix)]

    def compare_and_set(self, op: CompareAndSet) -> Changed | None:
        with self._lock:
            current = self._readable(op.hash_key).get(op.field, MISSING)
            if current is not op.expected:
                return Changed(current)
            if op.write:
                self._write_item(op.hash_key, op.field, op.new)
        # Handlers run after the lock is released, so a slow handler never blocks writers.
        self._publish_events(op.events)
        return None

    def publish(self, op: Publish) -> None:
        self._publish_events(op.events)

    # -- writing ------------------------------------------------------------------------------

    @staticmethod
    def _part(field: str, value: Any) -> bytes:
        try:
            return item_part(field, value)
        except EngineFormatError as exc:
            raise StoreCallError(
                STORE_WRITE_FAILED, f"cannot store {field!r}: {exc.message}"
            ) from None

    def _members(self, hash_key: str) -> dict[str, bytes]:
        parts = self._parts.get(hash_key)
        if parts is None:
            items = self._items.get(hash_key, {})
            parts = {field: self._part(field, value) for field, value in items.items()}
            self._parts[hash_key] = parts
        return parts

    def _write_item(self, hash_key: str, field: str, new: Any) -> None:
        """Make the file hold the index with ``field`` changed, then change memory."""
        parts = self._members(hash_key)
        if new is MISSING:
            members = [part for key, part in parts.items() if key != field]
            self._persist(hash_key, members)
            self._items[hash_key].pop(field, None)
            parts.pop(field, None)
            return
        part = self._part(field, new)
        if field in parts:
            members = [part if key == field else old for key, old in parts.items()]
        else:
            members = [*parts.values(), part]
        self._persist(hash_key, members)
        # Held as the engine holds it, so that a read now equals a read after reopening.
        self._items.setdefault(hash_key, {})[field] = engine_value(part, new)
        parts[field] = part

    def put_items(self, hash_key: str, items: Mapping[str, Any]) -> None:
        """Store every item of ``items`` in one hash with one file write, in order (existing
        items keep their place, new ones go to the end); no change events. For bulk loads
        such as ``iii-core copy``."""
        with self._lock:
            self._readable(hash_key)
            parts = dict(self._members(hash_key))
            values = {}
            for field, value in items.items():
                parts[field] = self._part(field, value)
                values[field] = engine_value(parts[field], value)
            self._persist(hash_key, list(parts.values()))
            self._items.setdefault(hash_key, {}).update(values)
            self._parts[hash_key] = parts

    def _check_unchanged(self, hash_key: str, path: Path) -> None:
        try:
            now: _Stamp | None = _Stamp.of(os.stat(path))
        except FileNotFoundError:
            now = None
        if now != self._stamps.get(hash_key):
            raise StoreCallError(
                STORE_CONFLICT,
                f"{path} changed on disk since iii-core last read or wrote it; nothing was "
                "written. Another writer uses this directory — is the iii engine running on "
                "it? It keeps its own copy in memory and rewrites whole files; stop it and "
                "reopen the store.",
            )

    def _persist(self, hash_key: str, members: list[bytes]) -> None:
        where = self._dir(hash_key)
        path = where.file_for(hash_key)
        self._check_unchanged(hash_key, path)
        temp = path.with_name(path.name + TEMP_SUFFIX)
        try:
            if not members:
                # kv.rs: an index emptied by a delete loses its file (DirtyOp::Delete).
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                self._stamps.pop(hash_key, None)
            else:
                data = archive_text(join_parts(members))
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                    if self._fsync:
                        os.fsync(fd)
                    stamp = _Stamp.of(os.fstat(fd))
                finally:
                    os.close(fd)
                os.replace(temp, path)
                self._stamps[hash_key] = stamp
            if self._fsync:
                _fsync_dir(where.path)
        except (OSError, EngineFormatError) as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise StoreCallError(
                STORE_WRITE_FAILED, f"could not write {path}: {_why(exc)}; nothing was written"
            ) from None

    def close(self) -> None:
        with self._lock:
            for fd in self._lock_fds:
                os.close(fd)
            self._lock_fds = []


class EngineDirStore(LocalStore):
    """The stream and state store over an iii app's data directory.

    ``EngineDirStore("./data")`` opens ``./data/stream_store`` and ``./data/state_store.db``
    (the paths the engine's workers ship with); ``EngineDirStore(streams=..., state=...)``
    names the two directories (each worker's ``file_path``) explicitly. Missing directories are
    created, as the engine does.
    """

    blocking = True  # every write rewrites a file

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        streams: str | os.PathLike[str] | None = None,
        state: str | os.PathLike[str] | None = None,
        fsync: bool = False,
        clock: Callable[[], int] = wall_clock_ms,
        max_value_bytes: int | None = None,
    ) -> None:
        if path is not None:
            streams = Path(path) / STREAM_SUBDIR if streams is None else streams
            state = Path(path) / STATE_SUBDIR if state is None else state
        if streams is None or state is None:
            raise TypeError("EngineDirStore needs a data directory, or both streams= and state=")
        self.storage = EngineDirStorage(streams, state, fsync=fsync, publish=self._deliver)
        super().__init__(self.storage, clock=clock, max_value_bytes=max_value_bytes)

    @classmethod
    def from_spec(cls, spec: str, **options: Any) -> EngineDirStore:
        """The store a command line names (see :func:`engine_directories`)."""
        streams, state = engine_directories(spec)
        return cls(streams=streams, state=state, **options)

    @property
    def directories(self) -> tuple[Path, Path]:
        """The stream and the state directory."""
        return self.storage.directories

    @property
    def unreadable(self) -> dict[str, str]:
        """Index files that cannot be read: path → reason."""
        return self.storage.unreadable

    @property
    def skipped(self) -> dict[str, str]:
        """Files the engine would not load either: path → why."""
        return self.storage.skipped

    def close(self) -> None:
        """Release the directory locks (every write is already on disk)."""
        self.storage.close()

    def __enter__(self) -> EngineDirStore:
        return self
