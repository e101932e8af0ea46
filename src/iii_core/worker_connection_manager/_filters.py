"""``expose_functions`` filters: what they match, and how the engine reads them from config.

Rules (the engine's ``FunctionFilter``, iii without namespaces):
- a :class:`MatchFilter` matches a function id with the wildcard of :func:`wildcard_match`;
- a :class:`MetadataFilter` matches when the function's registered metadata is an object that
  has every key of the filter, each value matching: a :class:`Wildcard` condition matches a
  string value by wildcard (never a non-string), any other condition by JSON equality with
  number kinds (``true`` is not ``1``, ``1`` is not ``1.0``). No metadata, or metadata that is
  not an object, matches no metadata filter.
- In config, a filter is the string ``match("pattern")`` or ``match('pattern')`` (whitespace
  around it ignored), or a map whose ``metadata`` key holds the conditions (other keys are
  ignored; a map without conditions is an error). A metadata value written as a
  ``match("...")`` string is a wildcard condition. Anything else raises
  :class:`InvalidFunctionFilter`, which names the list index.
Filters are immutable values. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from iii_core._rust import rust_trim
from iii_core.update._errors import json_type_name
from iii_core.worker_connection_manager._json_equal import json_equal
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


class InvalidFunctionFilter(ValueError):
    """An ``expose_functions`` entry the engine would refuse to load."""


@dataclass(frozen=True, slots=True)
class Wildcard:
    """A metadata condition that matches string values by wildcard, as ``match("*public*")``."""

    pattern: str

    def matches(self, value: str) -> bool:
        return wildcard_match(self.pattern, value)


@dataclass(frozen=True, slots=True)
class MatchFilter:
    """Exposes the function ids that match a wildcard pattern, as ``match("api::*")``."""

    pattern: str

    def matches(self, function_id: str, metadata: Any) -> bool:
        return wildcard_match(self.pattern, function_id)


@dataclass(frozen=True, slots=True)
class MetadataFilter:
    """Exposes the functions whose metadata satisfies every condition (AND).

    ``conditions`` maps a metadata key to a :class:`Wildcard` or to an exact JSON value.
    """

    conditions: Mapping[str, Any]

    def matches(self, function_id: str, metadata: Any) -> bool:
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


def _match_pattern(text: str) -> str | None:
    """The pattern inside ``match("...")`` / ``match('...')``, else None."""
    trimmed = rust_trim(text)
    if len(trimmed) < len('match("")'):  # shorter ones would overlap opening and closing
        return None
    if (trimmed.startswith('match("') and trimmed.endswith('")')) or (
        trimmed.startswith("match('") and trimmed.endswith("')")
    ):
        return trimmed[7:-2]
    return None


def _condition(value: Any) -> Any:
    if type(value) is str:
        pattern = _match_pattern(value)
        if pattern is not None:
            return Wildcard(pattern)
    return value


def parse_function_filter(raw: Any) -> FunctionFilter:
    """One ``expose_functions`` entry, written as in the engine's config, as a filter."""
    if type(raw) is str:
        pattern = _match_pattern(raw)
        if pattern is None:
            raise InvalidFunctionFilter(f'expected match("pattern"), got: {raw}')
        return MatchFilter(pattern)
    if type(raw) is dict:
        conditions: dict[str, Any] = {}
        if "metadata" in raw:
            metadata = raw["metadata"]
            if type(metadata) is not dict:
                raise InvalidFunctionFilter(
                    f"invalid type: {_type_name(metadata)}, expected a map of metadata conditions"
                )
            for key, value in metadata.items():
                if type(key) is not str:
                    raise InvalidFunctionFilter(f"metadata keys must be strings, got: {key!r}")
                conditions[key] = _condition(value)
        if not conditions:
            raise InvalidFunctionFilter("expected a 'metadata' key with filter conditions")
        return MetadataFilter(conditions)
    raise InvalidFunctionFilter(f"invalid type: {_type_name(raw)}, {_EXPECTING}")


def parse_expose_functions(raw: Any) -> tuple[FunctionFilter, ...]:
    """The ``rbac.expose_functions`` list of the engine's config, as filters."""
    if type(raw) is not list:
        raise InvalidFunctionFilter(f"invalid type: {_type_name(raw)}, expected a sequence")
    filters: list[FunctionFilter] = []
    for index, entry in enumerate(raw):
        try:
            filters.append(parse_function_filter(entry))
        except InvalidFunctionFilter as error:
            raise InvalidFunctionFilter(f"expose_functions[{index}]: {error}") from None
    return tuple(filters)


def _type_name(value: Any) -> str:
    try:
        return json_type_name(value)
    except TypeError:
        return type(value).__name__
