"""The storage protocol: what a call flow asks of storage, and the two drivers that answer it.

A call flow (:func:`iii_core.store.call_flow`) is a generator. It yields *storage operations*
(the five operations below), receives each one's result, and finally returns the call's
result; it performs no I/O itself. A backend supplies a *storage driver*: an object with one
method per operation, synchronous (:class:`Storage`) or asynchronous (:class:`AsyncStorage`).
:func:`run_flow` / :func:`run_flow_async` drive a flow over a driver; they are the only code
that differs between sync and async, and they are ten lines each.

Operations and what a driver answers (names are the engine's Redis layout: a *hash* is
``stream:{stream}:{group}`` or ``state:{scope}``, a *field* is the item id or state key):

==================  ==========================================  ====================================
operation           meaning                                     driver returns
==================  ==========================================  ====================================
``ReadField``       one field of one hash                       its stored form, or ``MISSING``
``ReadHash``        every value of one hash, in list order      ``[stored form, ...]``, or with
                                                                ``fields=True``
                                                                ``[(field, stored form), ...]``
``ListKeys``        hash keys starting with a literal prefix    ``[hash_key, ...]``
``CompareAndSet``   if the field still holds ``expected``:      ``None`` when applied, else
                    write (or delete, or keep) it and publish   ``Changed(current stored form)``
                    ``events``, atomically; else change nothing
``Publish``         publish change events (``stream::send``)    ``None``
==================  ==========================================  ====================================

A *stored form* is whatever the driver keeps for a value, handed back as is: the value's JSON
text as ``bytes`` (the flow decodes it, bounded, and reports undecodable data as a
``StoreCallError`` naming the item), or the already-decoded JSON value itself (never a
``bytes`` object, so the two cannot be confused), or :data:`~iii_core.update.MISSING`. The
flow passes the exact object it received back as ``CompareAndSet.expected``: a driver compares
its own forms (the Redis driver compares bytes; the memory driver compares object identity,
which is sound because stored values are never mutated).

Rules for drivers:

- ``ReadField(fresh=False)`` starts a write: the driver may answer from its memory of the last
  form it saw for that field (the Redis driver does, so that an uncontended write is one round
  trip); the ``CompareAndSet`` that follows catches a stale answer. ``fresh=True`` (a ``get``)
  must read the current form.
- ``CompareAndSet`` is atomic: the comparison, the write and the publication of ``events``
  happen at once or not at all, and events are published exactly when the write is. With
  ``write=False`` nothing is written but the comparison still holds (a state delete of a
  missing key publishes ``state:deleted`` only if the key is still missing). ``new`` is the
  JSON value to store, or ``MISSING`` to delete the field. A conflict returns
  ``Changed(current)`` so that the flow can retry without another read.
- Retries: the flow retries a conflict with the current form at most
  :data:`MAX_WRITE_ATTEMPTS` times, then fails with ``STORE_CONFLICT``. The *backoff* is the
  driver's decision (the flow has no clock): ``CompareAndSet.attempt`` counts the conflicts so
  far, and a driver whose conflicts come from other processes waits before answering a
  conflict (see ``iii_core.backends``).
- A driver that cannot reach its storage raises ``StoreCallError`` (``STORE_UNAVAILABLE``);
  stored data that is not a value of the expected kind (a Redis key of the wrong type) raises
  ``StoreCallError`` (``STORE_BAD_DATA``) naming the key. Nothing else escapes a driver.
- Driver methods never mutate what they are given and the flow never mutates what it gets.

Operations are frozen msgspec Structs (cheap to build: a write builds two). Pure: this module
performs no I/O; the drivers it calls do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Generator
from typing import Any, ClassVar, Final, NamedTuple, Protocol, TypeAlias, TypeVar

import msgspec

from iii_core._generated.state import StateChangeEvent
from iii_core._generated.stream import StreamChangeEvent

__all__ = [
    "MAX_WRITE_ATTEMPTS",
    "AsyncStorage",
    "ChangeEvent",
    "Changed",
    "CompareAndSet",
    "Flow",
    "ListKeys",
    "Publish",
    "ReadField",
    "ReadHash",
    "Storage",
    "StorageOp",
    "run_flow",
    "run_flow_async",
]

ChangeEvent: TypeAlias = StreamChangeEvent | StateChangeEvent

# A call that loses this many compare-and-sets in a row to other writers fails with
# STORE_CONFLICT rather than spin; with the drivers' backoff that is seconds of contention.
MAX_WRITE_ATTEMPTS: Final = 64


class ReadField(msgspec.Struct, frozen=True, gc=False):
    """Read one field. Result: its stored form, or ``MISSING``."""

    method: ClassVar[str] = "read_field"
    hash_key: str
    field: str
    fresh: bool = True


class ReadHash(msgspec.Struct, frozen=True, gc=False):
    """Read every value of one hash, in the order ``list`` returns. Result: ``[stored form,
    ...]``, or with ``fields=True`` ``[(field, stored form), ...]`` (empty for a missing hash).
    The flow asks for the fields only to name an unreadable item, so that a listing costs the
    values alone."""

    method: ClassVar[str] = "read_hash"
    hash_key: str
    fields: bool = False


class ListKeys(msgspec.Struct, frozen=True, gc=False):
    """List the hash keys that start with ``prefix`` (a literal, not a pattern). Result:
    ``[hash_key, ...]`` in any order."""

    method: ClassVar[str] = "list_keys"
    prefix: str


class CompareAndSet(msgspec.Struct, frozen=True, gc=False):
    """Atomically: if ``field`` still holds ``expected``, store ``new`` (``MISSING``: delete)
    when ``write`` is true, and publish ``events``. Result: ``None`` when applied, else
    :class:`Changed` with the current stored form."""

    method: ClassVar[str] = "compare_and_set"
    hash_key: str
    field: str
    expected: Any
    write: bool
    new: Any
    events: tuple[ChangeEvent, ...]
    attempt: int = 0


class Publish(msgspec.Struct, frozen=True, gc=False):
    """Publish change events that go with no stored write (``stream::send``). Result:
    ``None``."""

    method: ClassVar[str] = "publish"
    events: tuple[ChangeEvent, ...]


class Changed(NamedTuple):
    """A ``CompareAndSet`` that found the field changed under it: the current stored form."""

    current: Any


StorageOp: TypeAlias = ReadField | ReadHash | ListKeys | CompareAndSet | Publish
Flow: TypeAlias = Generator[StorageOp, Any, Any]
"""A call flow: yields storage operations, is sent their results, returns the call's result."""


class Storage(Protocol):
    """A synchronous storage driver: one method per operation (see the module docstring)."""

    def read_field(self, op: ReadField) -> Any: ...
    def read_hash(self, op: ReadHash) -> list[Any]: ...
    def list_keys(self, op: ListKeys) -> list[str]: ...
    def compare_and_set(self, op: CompareAndSet) -> Changed | None: ...
    def publish(self, op: Publish) -> None: ...


class AsyncStorage(Protocol):
    """An asynchronous storage driver: :class:`Storage` with coroutine methods."""

    def read_field(self, op: ReadField) -> Awaitable[Any]: ...
    def read_hash(self, op: ReadHash) -> Awaitable[list[Any]]: ...
    def list_keys(self, op: ListKeys) -> Awaitable[list[str]]: ...
    def compare_and_set(self, op: CompareAndSet) -> Awaitable[Changed | None]: ...
    def publish(self, op: Publish) -> Awaitable[None]: ...


_T = TypeVar("_T")


def run_flow(flow: Generator[StorageOp, Any, _T], storage: Storage) -> _T:
    """Run ``flow`` to its end over a synchronous driver and return its result. An exception
    raised by the driver or the flow propagates (a flow holds no resource to release)."""
    try:
        op = next(flow)
        while True:
            op = flow.send(getattr(storage, op.method)(op))
    except StopIteration as done:
        result: _T = done.value
        return result


async def run_flow_async(flow: Generator[StorageOp, Any, _T], storage: AsyncStorage) -> _T:
    """:func:`run_flow` over an asynchronous driver."""
    try:
        op = next(flow)
        while True:
            op = flow.send(await getattr(storage, op.method)(op))
    except StopIteration as done:
        result: _T = done.value
        return result
