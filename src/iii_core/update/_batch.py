"""One call's working state: the errors so far, the containers it owns, its pending strings.

Rules (path copying):
- The input value and the op values are never mutated. A container is mutated only after it
  was copied (or created) in this call; ``owned`` maps the ids of those containers to the
  containers themselves, which keeps them alive so that an id can never be reused within the
  call. Each container on a touched path is therefore copied at most once per call, and every
  untouched subtree is shared with the input.
- A string appended to once in a call is concatenated and recorded in ``owned`` (strings are
  never mutated; the record only says "made by this call"); from the second append on it is a
  :class:`Text` (a list of parts) until :meth:`Batch.finish` joins it once, so that 100,000
  appends cost time proportional to their total size.
- ``missing`` is the engine's "no stored value" flag: only a root increment, decrement or
  append sees it, and any op that reaches its apply step clears it.
Nothing here performs I/O or outlives the call.
"""

from __future__ import annotations

from typing import Any

from iii_core._generated.stream import UpdateOpError
from iii_core._serde import json_type_name
from iii_core.update._errors import op_error

__all__ = ["Batch", "Text", "type_name"]


class Text:
    """A string under construction by repeated appends within one call."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[str]) -> None:
        self.parts = parts


def type_name(value: Any) -> str:
    """The engine's type name of a value of this call (a :class:`Text` is a string)."""
    return "string" if type(value) is Text else json_type_name(value)


class Batch:
    __slots__ = ("errors", "missing", "owned", "texts")

    def __init__(self, missing: bool) -> None:
        self.errors: list[UpdateOpError] = []
        self.missing = missing
        self.owned: dict[int, Any] = {}
        # (container or None for the root, key, text): where a Text was stored; made on the
        # first append to a string, as most calls have none.
        self.texts: list[tuple[dict[str, Any] | None, str, Text]] | None = None

    def fail(self, index: int, code: str, message: str) -> None:
        self.errors.append(op_error(index, code, message))

    def own(self, container: dict[str, Any]) -> dict[str, Any]:
        """``container`` itself if this call made it, else its copy (made once).

        The ops that write one first-level key inline these four lines: for them the method
        call costs as much as the rest of the op."""
        if id(container) in self.owned:
            return container
        copy = container.copy()
        self.owned[id(copy)] = copy
        return copy

    def new_dict(self) -> dict[str, Any]:
        fresh: dict[str, Any] = {}
        self.owned[id(fresh)] = fresh
        return fresh

    def create_path(
        self, root: Any, segments: list[str] | tuple[str, ...]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The engine's ``walk_or_create``: ``(owned root, owned object at segments)``.

        A non-object root, and any missing or non-object step (arrays and scalars included),
        becomes ``{}``; existing objects are copied once and keep their siblings."""
        owned = self.owned
        if type(root) is dict:
            if id(root) not in owned:
                root = root.copy()
                owned[id(root)] = root
        else:
            root = {}
            owned[id(root)] = root
        node = root
        for segment in segments:
            child = node.get(segment)
            if type(child) is dict:
                if id(child) in owned:
                    node = child
                    continue
                child = child.copy()
            else:
                child = {}
            owned[id(child)] = child
            node[segment] = child
            node = child
        return root, node

    def pending(self, container: dict[str, Any] | None, key: str, text: Text) -> None:
        """Record that ``text`` was stored at ``key`` of ``container`` (``None``: the root)."""
        if self.texts is None:
            self.texts = []
        self.texts.append((container, key, text))

    def finish(self, value: Any) -> Any:
        """``value`` with every pending :class:`Text` joined into its string."""
        for container, key, text in self.texts or ():
            if container is None:
                if value is text:
                    value = "".join(text.parts)
            elif container.get(key) is text:
                container[key] = "".join(text.parts)
        return value
