"""``increment``: a first-level key (or the root with ``""``) plus ``by``; see
:mod:`iii_core.update._ops._counter` for the rule it shares with ``decrement``."""

from __future__ import annotations

from iii_core.update._ops._counter import counter_op

__all__ = ["apply", "decode_struct", "decode_wire"]

decode_wire, decode_struct, apply = counter_op("increment", 1)
