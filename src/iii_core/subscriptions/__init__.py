"""Live stream subscriptions, pure: the engine's stream socket protocol without the socket.

:class:`SubscriptionHub` takes what happens on a server's connections (open with an auth
context, a client frame, the join hooks' results, a sync read's result, close) and the store's
change events, and returns what to do as values: :class:`Send` a message to connections,
:class:`RunJoinHooks`, :class:`RunLeaveHooks`, :class:`ReadSync`, :class:`Refuse` (a frame over
a limit). :func:`stream_auth_input`
builds the auth hook's input from an upgrade request and :func:`auth_context` reads the context
from its result; :func:`join_rejected` is the verdict over the join hooks' results;
:func:`decode_frame` reads a client frame.

Rules: the engine's (``stream-state.md`` §3.3 and its errata 6 to 8), stated in each module. No
I/O, no clocks (timestamps come in as ``now_ms``), no randomness, no logging; inputs are never
mutated. The bindings (:mod:`iii_core.server`) call this package; it never imports them.
"""

from iii_core.subscriptions._actions import ReadSync, Refuse, RunJoinHooks, RunLeaveHooks, Send
from iii_core.subscriptions._auth import auth_context, stream_auth_input
from iii_core.subscriptions._errors import ConnectionAlreadyOpen, UnknownConnection
from iii_core.subscriptions._frames import decode_frame
from iii_core.subscriptions._hub import SubscriptionHub
from iii_core.subscriptions._messages import sync_message, unauthorized_message
from iii_core.subscriptions._verdict import join_rejected

__all__ = [
    "ConnectionAlreadyOpen",
    "ReadSync",
    "Refuse",
    "RunJoinHooks",
    "RunLeaveHooks",
    "Send",
    "SubscriptionHub",
    "UnknownConnection",
    "auth_context",
    "decode_frame",
    "join_rejected",
    "stream_auth_input",
    "sync_message",
    "unauthorized_message",
]
