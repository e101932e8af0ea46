"""The engine's ``state`` function types: inputs, the ``list_groups`` result, the change event
and the trigger config.

Rules: every class here is generated from ``schema/state.json``; this module only re-exports
them. ``state::update`` takes the update ops of :mod:`iii_core.stream` (``UpdateOp``);
``state::set`` and ``state::update`` return :class:`iii_core.stream.StreamSetResult` and
:class:`iii_core.stream.StreamUpdateResult`; ``state::get`` and ``state::delete`` return a bare
value and ``state::list`` a bare list, so they have no type here. Nothing here performs I/O.
"""

from iii_core._generated.state import (
    StateChangeEvent,
    StateDeleteInput,
    StateGetInput,
    StateListGroupsInput,
    StateListGroupsResult,
    StateListInput,
    StateSetInput,
    StateTriggerConfig,
    StateUpdateInput,
)

__all__ = [
    "StateChangeEvent",
    "StateDeleteInput",
    "StateGetInput",
    "StateListGroupsInput",
    "StateListGroupsResult",
    "StateListInput",
    "StateSetInput",
    "StateTriggerConfig",
    "StateUpdateInput",
]
