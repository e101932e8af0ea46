"""Typed methods, declared from the function table: ``store.stream_set(StreamSetInput(...))``.

Rules: one descriptor per table entry and face; the method's name must be the table's
``method`` (checked when the class is built), its input is the entry's input Struct and its
result the entry's result type. The owner supplies ``_typed_call(function, request)``, sync or
async, so the two faces share this module and nothing else is written twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar, overload

import msgspec

from iii_core.store._functions import Function

__all__ = ["AsyncTypedMethod", "TypedMethod"]

In = TypeVar("In", bound=msgspec.Struct)
Out = TypeVar("Out")
In_contra = TypeVar("In_contra", contravariant=True)
Out_co = TypeVar("Out_co", covariant=True)


class TypedCall(Protocol[In_contra, Out_co]):
    def __call__(self, request: In_contra | None = None, /) -> Out_co: ...


class _Method(Generic[In, Out]):
    def __init__(self, function: Function[In, Out]) -> None:
        self.function = function

    def __set_name__(self, owner: type, name: str) -> None:
        if name != self.function.method:
            raise TypeError(f"{owner.__name__}.{name} is declared for {self.function.id}")

    def _bind(self, store: Any) -> Callable[..., Any]:
        function = self.function
        typed_call = store._typed_call

        def method(request: Any = None, /) -> Any:
            return typed_call(function, request)

        method.__name__ = function.method
        method.__doc__ = f"``{function.id}`` with a typed request and result."
        return method


class TypedMethod(_Method[In, Out]):
    @overload
    def __get__(self, store: None, owner: type) -> TypedMethod[In, Out]: ...
    @overload
    def __get__(self, store: object, owner: type) -> TypedCall[In, Out]: ...
    def __get__(self, store: object | None, owner: type) -> Any:
        return self if store is None else self._bind(store)


class AsyncTypedMethod(_Method[In, Out]):
    def _bind(self, store: Any) -> Callable[..., Any]:
        bound = super()._bind(store)

        async def method(request: Any = None, /) -> Any:
            return await bound(request)

        method.__name__, method.__doc__ = bound.__name__, bound.__doc__
        return method

    @overload
    def __get__(self, store: None, owner: type) -> AsyncTypedMethod[In, Out]: ...
    @overload
    def __get__(self, store: object, owner: type) -> TypedCall[In, Awaitable[Out]]: ...
    def __get__(self, store: object | None, owner: type) -> Any:
        return self if store is None else self._bind(store)
