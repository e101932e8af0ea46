"""The op loop: the engine's ``apply_update_ops`` over decoded ops, with path copying.

Rules:
- The input value and the op values are never mutated. A container is mutated only after it
  was copied (or created) in this call; ``owned`` maps the ids of those containers to the
  containers themselves, which keeps them alive so that an id can never be reused within the
  call. Each container on a touched path is therefore copied at most once per call, and every
  untouched subtree is shared with the input.
- A string that is appended to more than once in one call is built as a list of parts and
  joined once at the end, so that 100,000 appends cost time proportional to their total size.
- Ops are applied in order; a failing op is skipped and reported; nothing is rolled back.
- Nothing here performs I/O, reads a clock, or keeps state between calls.
"""

from __future__ import annotations

from typing import Any, Final

from iii_core._generated.stream import UpdateOpError
from iii_core.update._decode import (
    APPEND,
    INCREMENT,
    MERGE,
    OP_NAMES,
    REMOVE,
    SET,
    DecodedOp,
)
from iii_core.update._errors import json_type_name, op_error
from iii_core.update._missing import MISSING
from iii_core.update._numbers import add
from iii_core.update._paths import check_segments, merge_segments
from iii_core.update._values import check_merge_value

__all__ = ["apply_decoded"]

_ABSENT: Final[Any] = object()


class _Text:
    """A string under construction by repeated appends within one call."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[str]) -> None:
        self.parts = parts


def _type_name(value: Any) -> str:
    return "string" if type(value) is _Text else json_type_name(value)


def _own_dict(container: dict[str, Any], owned: dict[int, Any]) -> dict[str, Any]:
    if id(container) in owned:
        return container
    copy = container.copy()
    owned[id(copy)] = copy
    return copy


def _new_dict(owned: dict[int, Any]) -> dict[str, Any]:
    fresh: dict[str, Any] = {}
    owned[id(fresh)] = fresh
    return fresh


def _initial_append_value(value: Any, owned: dict[int, Any]) -> Any:
    if type(value) is str:
        return value
    fresh = [value]
    owned[id(fresh)] = fresh
    return fresh


def _append_to_target(
    target: Any, value: Any, label: str, owned: dict[int, Any]
) -> tuple[Any, str | None]:
    """``(new target, None)`` on success, ``(None, message)`` for ``append.type_mismatch``."""
    kind = type(target)
    if kind is list:
        if id(target) in owned:
            target.append(value)
            return target, None
        grown = [*target, value]
        owned[id(grown)] = grown
        return grown, None
    if kind is str or kind is _Text:
        if type(value) is not str:
            return None, (
                f"Expected string append value at path '{label}', got {json_type_name(value)}."
            )
        if kind is _Text:
            target.parts.append(value)
            return target, None
        return _Text([target, value]), None
    if target is None:
        return _initial_append_value(value, owned), None
    return None, (
        f"Cannot append at path '{label}': target is {_type_name(target)}, "
        "expected array, string, null, or missing field."
    )


def _walk_or_create(
    root: dict[str, Any], segments: list[str] | tuple[str, ...], owned: dict[int, Any]
) -> dict[str, Any]:
    """The owned object at ``segments`` below the owned ``root``; a missing or non-object
    step becomes ``{}`` (arrays and scalars included), existing objects keep their siblings."""
    node = root
    for segment in segments:
        child = node.get(segment)
        owned_child = _own_dict(child, owned) if type(child) is dict else _new_dict(owned)
        if owned_child is not child:
            node[segment] = owned_child
        node = owned_child
    return node


def _finish_texts(value: Any, texts: list[tuple[dict[str, Any] | None, str, _Text]]) -> Any:
    for container, key, text in texts:
        if container is None:
            if value is text:
                value = "".join(text.parts)
        elif container.get(key) is text:
            container[key] = "".join(text.parts)
    return value


def apply_decoded(old: Any, ops: list[DecodedOp]) -> tuple[Any, list[UpdateOpError]]:
    errors: list[UpdateOpError] = []
    owned: dict[int, Any] = {}
    texts: list[tuple[dict[str, Any] | None, str, _Text]] = []
    # The engine starts a missing key from `{}` and lets only root increment, decrement and
    # append see it as missing until some op reaches its apply step.
    missing = old is MISSING
    current: Any = _new_dict(owned) if missing else old

    for index, (kind, path, argument) in enumerate(ops):
        name = OP_NAMES[kind]

        if kind in (MERGE, APPEND):
            segments = merge_segments(path)
            bad_path = check_segments(segments)
            if bad_path is not None:
                errors.append(op_error(index, f"{name}.{bad_path[0]}", bad_path[1]))
                continue

            if kind == MERGE:
                bad_value = check_merge_value(argument)
                if bad_value is not None:
                    errors.append(op_error(index, f"merge.{bad_value[0]}", bad_value[1]))
                    continue
                missing = False
                if not segments:
                    # A root merge into a non-object is a silent no-op in the engine.
                    if type(current) is dict and argument:
                        current = _own_dict(current, owned)
                        current.update(argument)
                    continue
                # A path merge silently replaces a non-object root with `{}`.
                current = _own_dict(current, owned) if type(current) is dict else _new_dict(owned)
                _walk_or_create(current, segments, owned).update(argument)
                continue

            if not segments:
                result, mismatch = _append_to_target(
                    None if missing else current, argument, "root", owned
                )
                if mismatch is not None:
                    errors.append(op_error(index, "append.type_mismatch", mismatch))
                    continue
                if type(result) is _Text and result is not current:
                    texts.append((None, "", result))
                current = result
                missing = False
                continue
            if type(current) is not dict:
                errors.append(
                    op_error(
                        index,
                        "append.target_not_object",
                        f"Cannot append at path '[{', '.join(segments)}]': target is "
                        f"{_type_name(current)}, expected object.",
                    )
                )
                continue
            missing = False
            leaf = segments[-1]
            if len(segments) == 1:
                parent = current
                existing = parent.get(leaf, _ABSENT)
                if existing is _ABSENT:
                    current = parent = _own_dict(parent, owned)
                    parent[leaf] = _initial_append_value(argument, owned)
                    continue
            else:
                current = _own_dict(current, owned)
                parent = _walk_or_create(current, segments[:-1], owned)
                existing = parent.get(leaf, _ABSENT)
                if existing is _ABSENT:
                    fresh = [argument]
                    owned[id(fresh)] = fresh
                    parent[leaf] = fresh
                    continue
            result, mismatch = _append_to_target(existing, argument, leaf, owned)
            if mismatch is not None:
                errors.append(op_error(index, "append.type_mismatch", mismatch))
                continue
            if result is not existing:
                if parent is current:
                    current = parent = _own_dict(parent, owned)
                parent[leaf] = result
                if type(result) is _Text:
                    texts.append((parent, leaf, result))
            continue

        # set, increment, decrement and remove take one literal first-level key; "" is root.
        if path:
            bad_path = check_segments((path,))
            if bad_path is not None:
                errors.append(op_error(index, f"{name}.{bad_path[0]}", bad_path[1]))
                continue
            if type(current) is not dict:
                errors.append(
                    op_error(
                        index,
                        f"{name}.target_not_object",
                        f"Cannot {name} at path '{path}': target is {_type_name(current)}, "
                        "expected object.",
                    )
                )
                continue

        if kind == SET:
            if path:
                current = _own_dict(current, owned)
                current[path] = argument
            else:
                current = argument
            missing = False
            continue

        if kind == REMOVE:
            if not path:
                current = None
            elif path in current:
                current = _own_dict(current, owned)
                del current[path]
            missing = False
            continue

        delta = argument if kind == INCREMENT else -argument
        if not path:
            if missing:
                current = delta
                missing = False
                continue
            target = current
        else:
            target = current.get(path, _ABSENT)
            if target is _ABSENT:
                current = _own_dict(current, owned)
                current[path] = delta
                missing = False
                continue
        kind_of_target = type(target)
        result_number = (
            add(target, delta) if kind_of_target is int or kind_of_target is float else None
        )
        if result_number is None:
            errors.append(
                op_error(
                    index,
                    f"{name}.not_number",
                    f"Expected number at path '{path or 'root'}', got {_type_name(target)}.",
                )
            )
            continue
        if path:
            current = _own_dict(current, owned)
            current[path] = result_number
        else:
            current = result_number
        missing = False

    if texts:
        current = _finish_texts(current, texts)
    return current, errors
