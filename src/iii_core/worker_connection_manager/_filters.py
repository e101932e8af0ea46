"""``expose_functions`` filters: what they match, and how the engine reads them from config.

Rules (the engine's ``FunctionFilter`` at iii bacffa0d, ``rbac_config.rs``):
- every filter is scoped to one namespace: its ``namespace``, or ``default`` when it names none.
  It matches only a function reached in that namespace;
- a :class:`MatchFilter` matches a function id with the wildcard of :func:`wildcard_match`;
- a :class:`MetadataFilter` matches when the function's registered metadata is an object that
  has every key of the filter, each value matching: a :class:`Wildcard` condition matches a
  string value by wildcard (never a non-string), any other condition by JSON equality with
  number kinds (``true`` is not ``1``, ``1`` is not ``1.0``). No metadata, or metadata that is
  not an object, matches no metadata filter.
- In config, a filter is the string ``match("pattern")`` or ``match('pattern')`` (whitespace
  around it ignored; scoped to ``default``), or a map with the keys ``match`` (a bare pattern,
  no ``match(...)`` wrapper), ``metadata`` (the conditions) and ``namespace``. Any other key is
  an error (a typo such as ``namesapce`` would otherwise leave the rule in ``default``); so are
  both ``match`` and conditions, and neither. A metadata value written as a ``match("...")``
  string is a wildcard condition. :class:`InvalidFunctionFilter` names the list index.
Filters are immutable values. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from iii_core._serde import json_type_name
from iii_core.errors import ErrorCode, IIICoreError
from iii_core.worker_connection_manager._json_equal import json_equal
from iii_core.worker_connection_manager._namespaces import DEFAULT_NAMESPACE, unwrap_match
from iii_core.worker_connection_manager._wildcard import wildcard_match

__all__ = [
    "FunctionFilter",
    "InvalidFunctionFilter",
    "MatchFilter",
    "MetadataFilter",
    "Wildcard",
    "parse_expose_functions",
    "parse_function_filter",
]

_EXPECTING: Final = "expected a match(\"pattern\") string or a map with 'metadata' key"


class InvalidFunctionFilter(IIICoreError, ValueError):
    """An ``expose_functions`` entry the engine would refuse to load."""

    code = ErrorCode.INVALID_FUNCTION_FILTER


@dataclass(frozen=True, slots=True)
class Wildcard:
    """A metadata condition that matches string values by wildcard, as ``match("*public*")``."""

    pattern: str

    def matches(self, value: str) -> bool:
        return wildcard_match(self.pattern, value)


@dataclass(frozen=True, slots=True)
class MatchFilter:
    """Exposes the function ids that match a wildcard pattern, as ``match("api::*")``.

    ``namespace`` None scopes the filter to ``default``.
    """

    pattern: str
    namespace: str | None = None

    def matches(self, function_id: str, metadata: Any, namespace: str = DEFAULT_NAMESPACE) -> bool:
        """Whether this filter exposes ``function_id`` reached in ``namespace``."""
        if (self.namespace or DEFAULT_NAMESPACE) != namespace:
            return False
        return wildcard_match(self.pattern, function_id)


@dataclass(frozen=True, slots=True)
class MetadataFilter:
    """Exposes the functions whose metadata satisfies every condition (AND).

    ``conditions`` maps a metadata key to a :class:`Wildcard` or to an exact JSON value;
    ``namespace`` None scopes the filter to ``default``.
    """

    conditions: Mapping[str, Any]
    namespace: str | None = None

    def matches(self, function_id: str, metadata: Any, namespace: str = DEFAULT_NAMESPACE) -> bool:
        """Whether this filter exposes ``function_id`` (registered with ``metadata``)."""
        if (self.namespace or DEFAULT_NAMESPACE) != namespace:
            return False
        if type(metadata) is not dict:
            return False
        for key, condition in self.conditions.items():
            if key not in metadata:
                return False
            value = metadata[key]
            if isinstance(condition, Wildcard):
                if type(value) is not str or not condition.matches(value):
                    return False
            elif not json_equal(value, condition):
                return False
        return True


FunctionFilter: TypeAlias = MatchFilter | MetadataFilter


def _condition(value: Any) -> Any:
    if type(value) is str:
        pattern = unwrap_match(value)
        if pattern is not None:
            return Wildcard(pattern)
    return value


def parse_function_filter(raw: Any) -> FunctionFilter:
    """One ``expose_functions`` entry, written as in the engine's config, as a filter."""
    if type(raw) is str:
        pattern = unwrap_match(raw)
        if pattern is None:
            raise InvalidFunctionFilter(f'expected match("pattern"), got: {raw}')
        return MatchFilter(pattern)
    if type(raw) is dict:
        return _parse_map(raw)
    raise InvalidFunctionFilter(f"invalid type: {_type_name(raw)}, {_EXPECTING}")


def _parse_map(raw: dict[Any, Any]) -> FunctionFilter:
    conditions: dict[str, Any] = {}
    pattern: str | None = None
    namespace: str | None = None
    for key, value in raw.items():
        if key == "metadata":
            if type(value) is not dict:
                raise InvalidFunctionFilter(
                    f"invalid type: {_type_name(value)}, expected a map of metadata conditions"
                )
            for name, condition in value.items():
                if type(name) is not str:
                    raise InvalidFunctionFilter(f"metadata keys must be strings, got: {name!r}")
                conditions[name] = _condition(condition)
        elif key in ("match", "namespace"):
            if type(value) is not str:
                raise InvalidFunctionFilter(f"invalid type: {_type_name(value)}, expected a string")
            if key == "match":
                pattern = value
            else:
                namespace = value
        else:
            raise InvalidFunctionFilter(
                f"unknown key '{key}' in expose_functions filter; "
                "expected 'match', 'metadata', or 'namespace'"
            )
    if pattern is not None and not conditions:
        return MatchFilter(pattern, namespace)
    if pattern is None and conditions:
        return MetadataFilter(conditions, namespace)
    if pattern is not None:
        raise InvalidFunctionFilter("a filter has either a 'match' or a 'metadata' key, not both")
    raise InvalidFunctionFilter("expected a 'match' or 'metadata' key with filter conditions")


def parse_expose_functions(raw: Any) -> tuple[FunctionFilter, ...]:
    """The ``rbac.expose_functions`` list of the engine's config, as filters."""
    if type(raw) is not list:
        raise InvalidFunctionFilter(f"invalid type: {_type_name(raw)}, expected a sequence")
    filters: list[FunctionFilter] = []
    for index, entry in enumerate(raw):
        try:
            filters.append(parse_function_filter(entry))
        except InvalidFunctionFilter as error:
            raise InvalidFunctionFilter(f"expose_functions[{index}]: {error.message}") from None
    return tuple(filters)


def _type_name(value: Any) -> str:
    try:
        return json_type_name(value)
    except TypeError:
        return type(value).__name__
