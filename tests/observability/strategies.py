"""Hypothesis strategies for payloads as ``redact`` meets them.

Keys are built from the sensitive fragments, ``token`` variants and harmless words in every
case, so both sides of each key rule are hit. Values mix JSON values with what the published
package also sees: tuples, namedtuples, ``OrderedDict``, sets, bytes, NaN and infinities, and
objects that ``json.dumps`` turns into text with ``str()``.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

# Shared by every property test here: no per-example deadline (the machine may be busy).
SETTINGS = settings(deadline=None)

_PARTS = [
    "api_key", "apikey", "api-key", "password", "secret", "credential", "authorization",
    "auth_token", "access_token", "refresh_token", "bearer", "private_key", "client_secret",
    "token", "_token", "-token", "tokens", "my", "id", "user", "session", "cookie", "key",
    "private", "Key", "x", "é", "ß", "İ", "",
]  # fmt: skip


def _cased(text: str) -> st.SearchStrategy[str]:
    return st.sampled_from([text, text.upper(), text.title(), text.swapcase()])


keys = st.one_of(
    st.lists(st.sampled_from(_PARTS).flatmap(_cased), min_size=1, max_size=3).map("".join),
    st.text(max_size=6),
)

Pair = namedtuple("Pair", ["left", "right"])


class Shown:
    """An object ``json.dumps(default=str)`` writes as its text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
scalars = st.one_of(
    json_scalars,
    st.floats(),
    st.binary(max_size=4),
    st.frozensets(st.integers(0, 3), max_size=3),
    st.sets(st.integers(0, 3), max_size=3),
    st.text(max_size=4).map(Shown),
)


def payloads(
    leaves: st.SearchStrategy[Any] = scalars, max_leaves: int = 25
) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.lists(children, max_size=3).map(tuple),
            st.dictionaries(keys, children, max_size=4),
            st.dictionaries(keys, children, max_size=3).map(OrderedDict),
            st.tuples(children, children).map(lambda pair: Pair(*pair)),
        ),
        max_leaves=max_leaves,
    )


json_payloads = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=25,
)

env_values = st.one_of(
    st.sampled_from(["unlimited", "UNLIMITED", " Unlimited ", "", "   ", "0", "-1", "+5", "1_000"]),
    st.text(alphabet="0123456789 +-_.xeaUNLIMITEDunlimited\t", max_size=8),
    st.integers(-(10**6), 10**12).map(str),
)
