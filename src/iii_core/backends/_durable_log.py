"""``DurableLog``: the append-only file that makes ``MemoryStore(path)`` durable.

Format (the one earlier releases wrote, so their logs still open): one JSON line per write,
``[hash_key, field, value]`` for a set and ``[hash_key, field]`` for a delete, each ended by a
newline. Replaying the lines in order rebuilds the hashes as a Python dict would: a set of an
existing field keeps the field's place, a delete and re-create moves it to the end, a hash keeps
the place of its first set; a hash whose fields were all deleted is dropped.

Rules
- **Full records only.** ``append_set``/``append_delete`` return only when the whole line is in
  the file (and fsynced when ``fsync=True``): a short ``os.write`` is continued where it
  stopped. On any failure (an OS error, or an exception raised mid-write by a signal handler) the
  file is truncated back to the end of the last whole record (``os.ftruncate``), so no half line
  is ever followed by another record. An OS error (``ENOSPC``, ``EDQUOT``, ``EIO``, ...) is a
  :class:`StoreCallError` with code ``STORE_WRITE_FAILED`` naming the file and the error, and the
  record is not in the log; the next append works again once the cause is gone (space freed).
- **It writes only what it can read back.** A value nested deeper than :data:`MAX_VALUE_DEPTH`
  levels, or that is not JSON, is refused with ``STORE_VALUE_REFUSED`` before anything is
  written. (The store refuses deep values earlier, with the engine's error; this is the log's own
  backstop, because how deep the JSON decoder reaches depends on the reader's stack depth.)
- **Reading.** A record counts only with its newline: bytes after the last newline are the torn
  tail of a write that a crash interrupted (never acknowledged) and are dropped (the file is cut
  back to the last newline before anything is appended) -- but only if they can be one: the
  start of a record (``["``) or zeros. Any other unterminated last line means the file is not
  (or no longer) a store log, and is a :class:`CorruptStoreLogError` like any other bad line,
  so that opening someone's text file by mistake never cuts it. Any other line that is not a
  record -- not JSON, nested too deep to decode, not a 2- or 3-element array whose first two
  elements are strings -- is a :class:`CorruptStoreLogError` ``"corrupt store log: PATH line N:
  why"``, and the file is left untouched. Lines are read one at a time, never the whole file
  at once.
- **One process per log.** ``open`` takes an exclusive, non-blocking ``fcntl.flock`` on a lock
  file beside the log, ``PATH.lock``, and writes its pid there; a second opener (another process,
  or a second ``open`` in this one) gets ``STORE_LOCKED`` naming the log and the holder's pid. The
  lock is on a separate file because ``flock`` locks an inode and compaction renames a new inode
  over the log: a lock on the log itself would be left on the replaced file, and the next process
  would lock the new one while we still write to it. The lock file is never replaced or removed
  (removing it would let two processes lock two different inodes of the same name); the kernel
  drops the lock when the holder exits, even by ``kill -9``.
- **Compaction** rewrites the log as one set per live field: on open when the log holds anything
  else (overwritten or deleted records), and online from :meth:`maybe_compact` when the log has
  grown past ``max(compact_min_bytes, compact_ratio x its size after the last compaction)`` -- by
  default 1 MiB and 2x, as Redis rewrites its append-only file. So the file stays within about
  twice the live data (or 1 MiB), replay reads at most that much, and each appended byte costs
  at most ``ratio / (ratio - 1)`` rewritten bytes on average (2 by default). The new file is
  written beside the target as ``PATH.compact`` (in 1 MiB chunks), given the old file's mode and
  owner, fsynced, renamed over the old one atomically, and the directory is fsynced. A symlinked
  log is followed: the target is compacted and the link stays. Hard links to the log are not kept
  (the rename gives the name a new inode). A failed compaction (a full disk) removes its partial
  file, logs a warning and leaves the old log in use; it is retried once the log has grown by the
  ratio again.
- Not thread-safe: the caller serialises calls (``MemoryStore`` holds its lock around them).
  An online compaction runs in the caller's thread, so it pauses the caller's writers for the
  time it takes to encode, write and fsync the live data (about 5 ms per MB on the benchmark
  machine), once each time the log doubles.

Durability, as ``tests/backends/test_durable_log*.py`` test it:
- A crash of the process (``kill -9``), even in the middle of a compaction: every acknowledged
  write is in the log, and the log opens (old or new file, each whole). Tested with child
  processes killed without fsync; fsync only adds to it.
- A full disk (a real 256 KiB tmpfs): the write that did not fit raises ``STORE_WRITE_FAILED``
  and is not in the log, every earlier acknowledged write is, and writes succeed again once space
  is freed; the reopened log holds exactly the acknowledged writes.
- A crash of the machine (not testable here; it follows from the calls made): with
  ``fsync=True`` every acknowledged write survives (``fsync`` before each append returns; a new
  log's and every compaction's directory entry are fsynced); with ``fsync=False`` the writes the
  OS had not yet written back (on Linux, up to about 30 seconds' worth) can be lost, and the log
  still opens (a torn or zero-filled last line is a torn tail).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import stat
from collections.abc import Mapping
from itertools import accumulate
from typing import Any, Final

import msgspec

from iii_core._json import loads
from iii_core.errors import ErrorCode
from iii_core.store import StoreCallError

__all__ = [
    "COMPACT_MIN_BYTES",
    "COMPACT_RATIO",
    "MAX_VALUE_DEPTH",
    "STORE_LOCKED",
    "STORE_LOG_CORRUPT",
    "STORE_OPEN_FAILED",
    "STORE_VALUE_REFUSED",
    "STORE_WRITE_FAILED",
    "CorruptStoreLogError",
    "DurableLog",
]

COMPACT_MIN_BYTES: Final = 1 << 20
COMPACT_RATIO: Final = 2.0
#: Deepest value nesting the log writes (``[]`` and ``{}`` are depth 1): far above the store's own
#: bound, and far enough below Python's recursion limit that a reader at any reasonable stack
#: depth decodes it.
MAX_VALUE_DEPTH: Final = 256

STORE_LOCKED: Final = ErrorCode.STORE_LOCKED
STORE_LOG_CORRUPT: Final = ErrorCode.STORE_LOG_CORRUPT
STORE_OPEN_FAILED: Final = ErrorCode.STORE_OPEN_FAILED
STORE_VALUE_REFUSED: Final = ErrorCode.STORE_VALUE_REFUSED
STORE_WRITE_FAILED: Final = ErrorCode.STORE_WRITE_FAILED

_CHUNK: Final = 1 << 20
_RECORD_SHAPE: Final = (
    "expected [hash_key, field, value] or [hash_key, field] with string hash_key and field"
)

_DELETED: Final = object()  # the value of a delete record, while replaying

_logger = logging.getLogger(__name__)
_encoder = msgspec.json.Encoder()

# Nesting depth of an encoded line without recursion: drop the strings, keep the brackets, and
# take the highest running sum of +1 per opener and -1 per closer.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEP = [1 if b in b"[{" else -1 if b in b"]}" else 0 for b in range(256)]


class CorruptStoreLogError(StoreCallError, ValueError):
    """A log line that is not a record (code ``STORE_LOG_CORRUPT``): the log is refused as it is.

    Also a ``ValueError``, which earlier releases raised for a corrupt log.
    """

    code = ErrorCode.STORE_LOG_CORRUPT


_NOT_A_TORN_RECORD: Final = (
    "the last line has no newline and is not the start of a record, so it is not the torn tail "
    "of a write; the file was left untouched"
)


def _could_be_torn_record(tail: bytes) -> bool:
    """Whether bytes after the last newline can be what a crash mid-append leaves: the start of
    a record (every record begins ``["``), or zeros (a file extended by a machine crash before
    its data reached the disk)."""
    return tail.startswith(b'["') or b'["'.startswith(tail) or not tail.strip(b"\0")


class DurableLog:
    """An open, locked store log. Build it with :meth:`open`; see the module docstring."""

    def __init__(
        self,
        path: str,
        target: str,
        fd: int,
        lock_fd: int,
        *,
        fsync: bool,
        compact_min_bytes: int,
        compact_ratio: float,
    ) -> None:
        self._path = path  # as the user gave it: every message names this one
        self._target = target  # the file itself, symlinks resolved
        self._fd = fd
        self._lock_fd = lock_fd
        self._fsync = fsync
        self._compact_min_bytes = compact_min_bytes
        self._compact_ratio = compact_ratio
        self._size = os.fstat(fd).st_size  # end of the last whole record
        self._tail_dirty = False  # a failed write's bytes could not be truncated yet
        self._compact_at = self._threshold()

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        fsync: bool = False,
        compact_min_bytes: int = COMPACT_MIN_BYTES,
        compact_ratio: float = COMPACT_RATIO,
    ) -> tuple[DurableLog, dict[str, dict[str, Any]]]:
        """Lock the log (creating it if missing), replay it, compact it if it holds more than the
        live fields, and return the log with the live hashes ``{hash_key: {field: value}}`` in
        insertion order.

        Raises ``StoreCallError``: ``STORE_OPEN_FAILED`` (missing directory, a directory, no
        permission, not a regular file), ``STORE_LOCKED`` (another holder),
        :class:`CorruptStoreLogError` (a line that is not a record).
        """
        if compact_min_bytes < 0 or compact_ratio < 1:
            raise ValueError("compact_min_bytes must be >= 0 and compact_ratio >= 1")
        given = os.fspath(path)
        target = os.path.realpath(given)
        created = not os.path.exists(target)
        fd = _open_log_file(given, target)
        try:
            lock_fd = _lock(given, target)
        except BaseException:
            os.close(fd)
            raise
        try:
            if _replaced(given, target, fd):
                # Another holder compacted the log between our open and our lock: the fd we
                # hold is the replaced file, so open the current one.
                stale, fd = fd, -1
                os.close(stale)
                fd = _open_log_file(given, target)
            log = cls(
                given,
                target,
                fd,
                lock_fd,
                fsync=fsync,
                compact_min_bytes=compact_min_bytes,
                compact_ratio=compact_ratio,
            )
        except BaseException:
            if fd >= 0:
                os.close(fd)
            os.close(lock_fd)
            raise
        try:
            hashes = log._open_replay(created)
        except BaseException:
            log.close()
            raise
        return log, hashes

    def append_set(self, hash_key: str, field: str, value: Any) -> None:
        """Append a set record; it is entirely in the file (and fsynced with ``fsync=True``)
        when this returns. ``STORE_WRITE_FAILED`` or ``STORE_VALUE_REFUSED`` otherwise, with the
        file as it was."""
        self._append(self._encode([hash_key, field, value]))

    def append_delete(self, hash_key: str, field: str) -> None:
        """Append a delete record, with the guarantees of :meth:`append_set`."""
        self._append(self._encode([hash_key, field]))

    def maybe_compact(self, hashes: Mapping[str, Mapping[str, Any]]) -> None:
        """Compact the log to ``hashes`` (the live data, which the log's records must replay to)
        if it has grown past its threshold. Never raises for a failed compaction: the records
        are already safe in the old log, so a failure is logged and retried later."""
        self._check_open()
        if self._size > self._compact_at:
            self._compact_or_warn(hashes)

    def close(self) -> None:
        """Close the log and release its lock (a second call does nothing)."""
        if self._fd < 0:
            return
        os.close(self._fd)
        self._fd = -1
        # So that an opener racing the next holder reads no stale pid. The pid is only a hint
        # for error messages (the flock is the lock), so a failure here changes nothing.
        with contextlib.suppress(OSError):
            os.ftruncate(self._lock_fd, 0)
        os.close(self._lock_fd)  # releases the flock

    # -- open ---------------------------------------------------------------------------------

    def _open_replay(self, created: bool) -> dict[str, dict[str, Any]]:
        _remove_if_present(self._target + ".compact")  # left by a crash mid-compaction
        hashes, records, end = self._replay()
        if end < self._size:
            self._cut_torn_tail(end)
        if records > sum(len(fields) for fields in hashes.values()):
            self._compact_or_warn(hashes)
        elif created:
            # The new file's name must survive a machine crash too.
            _fsync_directory(self._target)
        return hashes

    def _replay(self) -> tuple[dict[str, dict[str, Any]], int, int]:
        """The hashes, the number of records and the offset just past the last whole line."""
        hashes: dict[str, dict[str, Any]] = {}
        records = end = 0
        os.lseek(self._fd, 0, os.SEEK_SET)
        with open(self._fd, "rb", buffering=_CHUNK, closefd=False) as lines:
            for number, line in enumerate(lines, 1):
                if not line.endswith(b"\n"):
                    if not _could_be_torn_record(line):
                        # Not what a crash mid-append leaves: likely not a store log at all, and
                        # cutting it would destroy someone's data.
                        raise self._corrupt(number, _NOT_A_TORN_RECORD)
                    break  # the torn tail
                end += len(line)
                if line == b"\n":
                    continue
                hash_key, field, value = self._decode(line, number)
                records += 1
                if value is _DELETED:
                    fields = hashes.get(hash_key)
                    if fields is not None:
                        fields.pop(field, None)
                else:
                    hashes.setdefault(hash_key, {})[field] = value
        return {key: fields for key, fields in hashes.items() if fields}, records, end

    def _decode(self, line: bytes, number: int) -> tuple[str, str, Any]:
        try:
            record = loads(line, max_depth=None)
        except msgspec.DecodeError as error:
            raise self._corrupt(number, f"not JSON ({error})") from error
        except RecursionError:
            raise self._corrupt(number, "nested too deep to decode") from None
        if (
            type(record) is not list
            or len(record) not in (2, 3)
            or type(record[0]) is not str
            or type(record[1]) is not str
        ):
            raise self._corrupt(number, _RECORD_SHAPE)
        return record[0], record[1], record[2] if len(record) == 3 else _DELETED

    def _corrupt(self, number: int, why: str) -> CorruptStoreLogError:
        return CorruptStoreLogError(
            STORE_LOG_CORRUPT, f"corrupt store log: {self._path} line {number}: {why}"
        )

    def _cut_torn_tail(self, end: int) -> None:
        try:
            os.ftruncate(self._fd, end)
        except OSError as error:
            raise _open_error(self._path, error) from error
        self._size = end

    # -- append -------------------------------------------------------------------------------

    def _encode(self, record: list[Any]) -> bytes:
        try:
            line = _encoder.encode(record)
        except RecursionError:
            line = b""
        except (TypeError, msgspec.EncodeError) as error:
            raise StoreCallError(
                STORE_VALUE_REFUSED,
                f"store log {self._path}: the value is not JSON ({error}); nothing was written",
            ) from None
        # The record's array is one level. The line's length, then its number of openers, are
        # cheap bounds of its depth that spare the exact scan to nearly every line.
        if not line or (
            len(line) > MAX_VALUE_DEPTH + 1
            and line.count(b"[") + line.count(b"{") > MAX_VALUE_DEPTH + 1
            and _too_deep(line, MAX_VALUE_DEPTH + 1)
        ):
            raise StoreCallError(
                STORE_VALUE_REFUSED,
                f"store log {self._path}: the value is nested deeper than {MAX_VALUE_DEPTH} "
                "levels; nothing was written",
            )
        return line + b"\n"

    def _check_open(self) -> None:
        if self._fd < 0:
            raise ValueError(f"store log {self._path} is closed")

    def _append(self, line: bytes) -> None:
        self._check_open()
        try:
            if self._tail_dirty:
                os.ftruncate(self._fd, self._size)
                self._tail_dirty = False
            written = os.write(self._fd, line)
            if written < len(line):
                _write_rest(self._fd, line, written)
            if self._fsync:
                os.fsync(self._fd)
        except BaseException as error:
            self._truncate_failed_write()
            if isinstance(error, OSError):
                raise StoreCallError(
                    STORE_WRITE_FAILED,
                    f"cannot write store log {self._path}: {_describe(error)}; "
                    "the write was not made",
                ) from error
            raise
        self._size += len(line)

    def _truncate_failed_write(self) -> None:
        try:
            os.ftruncate(self._fd, self._size)
        except OSError:
            # Retried before the next append, which fails until it succeeds: a record is never
            # written after a half one.
            self._tail_dirty = True

    # -- compaction ---------------------------------------------------------------------------

    def _threshold(self) -> float:
        return max(self._compact_min_bytes, self._compact_ratio * self._size)

    def _compact_or_warn(self, hashes: Mapping[str, Mapping[str, Any]]) -> None:
        try:
            self._compact(hashes)
        except StoreCallError as error:
            self._compact_at = self._threshold()
            _logger.warning(
                "store log %s: compaction failed, the log is kept as it is: %s", self._path, error
            )

    def _compact(self, hashes: Mapping[str, Mapping[str, Any]]) -> None:
        staging = self._target + ".compact"
        try:
            old = os.fstat(self._fd)
            fd = os.open(
                staging,
                os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC,
                0o600,
            )
        except OSError as error:
            raise self._compact_error(error) from error
        size = 0
        try:
            new = os.fstat(fd)
            if (old.st_uid, old.st_gid) != (new.st_uid, new.st_gid):
                _keep_owner(fd, old)
            os.fchmod(fd, stat.S_IMODE(old.st_mode))  # after chown, which clears set-id bits
            chunk: list[bytes] = []
            pending = 0
            for hash_key, fields in hashes.items():
                for field, value in fields.items():
                    line = self._encode([hash_key, field, value])
                    chunk.append(line)
                    pending += len(line)
                    if pending >= _CHUNK:
                        _write_whole(fd, b"".join(chunk))
                        size, pending = size + pending, 0
                        chunk.clear()
            _write_whole(fd, b"".join(chunk))
            size += pending
            os.fsync(fd)
            os.replace(staging, self._target)
        except BaseException as error:
            os.close(fd)
            _remove_if_present(staging)
            if isinstance(error, OSError):
                raise self._compact_error(error) from error
            raise
        stale = self._fd
        self._fd, self._size, self._tail_dirty = fd, size, False
        self._compact_at = self._threshold()
        try:
            os.close(stale)
            _fsync_directory(self._target)
        except OSError as error:
            raise self._compact_error(error) from error

    def _compact_error(self, error: OSError) -> StoreCallError:
        return StoreCallError(
            STORE_WRITE_FAILED, f"cannot compact store log {self._path}: {_describe(error)}"
        )


def _open_log_file(given: str, target: str) -> int:
    try:
        fd = os.open(target, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as error:
        raise _open_error(given, error) from error
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise StoreCallError(
            STORE_OPEN_FAILED, f"cannot open store log {given}: not a regular file"
        )
    return fd


def _replaced(given: str, target: str, fd: int) -> bool:
    try:
        return os.stat(target).st_ino != os.fstat(fd).st_ino
    except OSError as error:
        raise _open_error(given, error) from error


def _lock(given: str, target: str) -> int:
    """An fd of ``target.lock`` holding the exclusive flock, with our pid written in it."""
    lock_path = target + ".lock"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as error:
        raise _open_error(given, error, f" (lock file {lock_path})") from error
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise StoreCallError(
            STORE_LOCKED,
            f"store log {given} is locked by pid {holder} (lock file {lock_path}); "
            "one store at a time may have it open",
        ) from None
    except OSError as error:
        os.close(fd)
        raise _open_error(given, error, f" (lock file {lock_path})") from error
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError:
        pass  # a full disk must not stop the open: the pid only helps the next opener's message
    return fd


def _open_error(given: str, error: OSError, where: str = "") -> StoreCallError:
    why = _describe(error)
    if error.errno == errno.ENOENT:
        why += f" (directory {os.path.dirname(os.path.abspath(given))} does not exist)"
    return StoreCallError(STORE_OPEN_FAILED, f"cannot open store log {given}: {why}{where}")


def _describe(error: OSError) -> str:
    name = errno.errorcode.get(error.errno or 0, "")
    return f"{error.strerror or error} [{name}]" if name else str(error)


def _write_whole(fd: int, data: bytes) -> None:
    written = os.write(fd, data)
    if written < len(data):
        _write_rest(fd, data, written)


def _write_rest(fd: int, data: bytes, written: int) -> None:
    """After a short write (a nearly full disk): go on where it stopped, or fail with ENOSPC."""
    view = memoryview(data)
    while written < len(data):
        written += os.write(fd, view[written:])


def _too_deep(line: bytes, limit: int) -> bool:
    brackets = _JSON_STRING.sub(b"", line).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0) > limit


def _keep_owner(fd: int, old: os.stat_result) -> None:
    # Only root may give a file away: a log we may write but do not own becomes ours, as any
    # rewrite by its writer would.
    with contextlib.suppress(PermissionError):
        os.fchown(fd, old.st_uid, old.st_gid)


def _fsync_directory(target: str) -> None:
    fd = os.open(os.path.dirname(target), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_if_present(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
