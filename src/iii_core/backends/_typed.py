"""Typed methods, declared once from the function table: ``store.stream_set(StreamSetInput(...))``.

Rules: :class:`TypedMethods` declares one :class:`TypedMethod` per table entry, and both
``Store`` and ``AsyncStore`` inherit it, so the fourteen methods exist once. The method's name
must be the table's ``method`` (checked when the class is built); its input is the entry's
input Struct and its result the entry's result type, inferred from the table's annotations.
The owner supplies ``_typed_call(function, request)`` and says with ``_coroutines`` whether
that is a coroutine: the bound method is then a coroutine function too, and to ``mypy`` the
method of a synchronous owner returns ``Out`` and that of an asynchronous one
``Awaitable[Out]``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, Literal, Protocol, TypeVar, overload

import msgspec

from iii_core.store import _functions as table
from iii_core.store._functions import Function

__all__ = ["TypedCall", "TypedMethod", "TypedMethods"]

In = TypeVar("In", bound=msgspec.Struct)
Out = TypeVar("Out")
In_contra = TypeVar("In_contra", contravariant=True)
Out_co = TypeVar("Out_co", covariant=True)


class TypedCall(Protocol[In_contra, Out_co]):
    def __call__(self, request: In_contra | None = None, /) -> Out_co: ...


class _SyncOwner(Protocol):
    @property
    def _coroutines(self) -> Literal[False]: ...


class _AsyncOwner(Protocol):
    @property
    def _coroutines(self) -> Literal[True]: ...


class TypedMethod(Generic[In, Out]):
    """The typed method of one table entry, bound to its store on access."""

    def __init__(self, function: Function[In, Out]) -> None:
        self.function = function

    def __set_name__(self, owner: type, name: str) -> None:
        if name != self.function.method:
            raise TypeError(f"{owner.__name__}.{name} is declared for {self.function.id}")

    @overload
    def __get__(self, store: None, owner: type) -> TypedMethod[In, Out]: ...
    @overload
    def __get__(self, store: _SyncOwner, owner: type) -> TypedCall[In, Out]: ...
    @overload
    def __get__(self, store: _AsyncOwner, owner: type) -> TypedCall[In, Awaitable[Out]]: ...
    def __get__(self, store: Any, owner: type) -> Any:
        if store is None:
            return self
        function = self.function
        typed_call = store._typed_call
        method: Callable[..., Any]
        if store._coroutines:

            async def method(request: Any = None, /) -> Any:
                return await typed_call(function, request)

        else:

            def method(request: Any = None, /) -> Any:
                return typed_call(function, request)

        method.__name__ = function.method
        method.__doc__ = f"``{function.id}`` with a typed request and result."
        return method


class TypedMethods:
    """The fourteen typed methods of a store, sync or async (see the module docstring)."""

    stream_set = TypedMethod(table.STREAM_SET)
    stream_get = TypedMethod(table.STREAM_GET)
    stream_update = TypedMethod(table.STREAM_UPDATE)
    stream_delete = TypedMethod(table.STREAM_DELETE)
    stream_send = TypedMethod(table.STREAM_SEND)
    stream_list = TypedMethod(table.STREAM_LIST)
    stream_list_groups = TypedMethod(table.STREAM_LIST_GROUPS)
    stream_list_all = TypedMethod(table.STREAM_LIST_ALL)
    state_set = TypedMethod(table.STATE_SET)
    state_get = TypedMethod(table.STATE_GET)
    state_update = TypedMethod(table.STATE_UPDATE)
    state_delete = TypedMethod(table.STATE_DELETE)
    state_list = TypedMethod(table.STATE_LIST)
    state_list_groups = TypedMethod(table.STATE_LIST_GROUPS)
