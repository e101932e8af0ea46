"""The atomic write of the Redis stores: compare-and-set of one hash field, plus its events.

Rules: a store reads the item (HGET), runs the pure transition, then runs :data:`CAS_SCRIPT`,
which applies the write and publishes the change events only if the field still holds exactly
the bytes that were read (or is still missing); otherwise nothing happens and the store reads
again. A Lua script runs atomically in Redis, so every write is equivalent to the read, the
transition and the write happening at once, in some serial order; the transition is a pure
function of the old value, so succeeding after the value went A→B→A is as correct as
succeeding at once. Publishing inside the script means an event is out exactly when its write
is. Two round trips per write, the same as a plain HGET + HSET.
"""

from __future__ import annotations

from typing import Final

import msgspec

from iii_core.store import Transition
from iii_core.update import MISSING

__all__ = ["CAS_SCRIPT", "cas_arguments"]

# ARGV: field, "1" if the field existed, its bytes, "set" | "del" | "keep", the new bytes,
# the events channel, then one encoded event per argument.
CAS_SCRIPT: Final = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '1' then
  if current ~= ARGV[3] then return 0 end
elseif current then
  return 0
end
if ARGV[4] == 'set' then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[5])
elseif ARGV[4] == 'del' then
  redis.call('HDEL', KEYS[1], ARGV[1])
end
for i = 7, #ARGV do
  redis.call('PUBLISH', ARGV[6], ARGV[i])
end
return 1
"""

_encoder = msgspec.json.Encoder()


def cas_arguments(
    field: str, read: bytes | str | None, outcome: Transition, channel: str
) -> list[bytes | str]:
    if not outcome.write:
        mode, new = "keep", b""
    elif outcome.new is MISSING:
        mode, new = "del", b""
    else:
        mode, new = "set", _encoder.encode(outcome.new)
    existed = read is not None
    return [
        field,
        "1" if existed else "0",
        read if read is not None else b"",
        mode,
        new,
        channel,
        *(_encoder.encode(event) for event in outcome.events),
    ]
