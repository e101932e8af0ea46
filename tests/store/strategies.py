"""Hypothesis strategies for store calls: names, payloads of every function id, requests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from iii_core.update import MISSING
from tests.property.strategies import documents, json_values, malformed_ops, op_lists

# Few names so that calls collide on items; ':' and '' on purpose (the key layout's quirks).
names = st.one_of(
    st.sampled_from(["", "a", "b", "a:b", "b:g", ":", "é", "x y"]), st.text(max_size=3)
)
olds = st.one_of(st.just(MISSING), documents)

# (field, kind) in Rust declaration order; kinds: str, opt (Option<String>), any, ops.
FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "stream::set": (
        ("stream_name", "str"),
        ("group_id", "str"),
        ("item_id", "str"),
        ("data", "any"),
    ),
    "stream::get": (("stream_name", "str"), ("group_id", "str"), ("item_id", "str")),
    "stream::delete": (("stream_name", "str"), ("group_id", "str"), ("item_id", "str")),
    "stream::update": (
        ("stream_name", "str"),
        ("group_id", "str"),
        ("item_id", "str"),
        ("ops", "ops"),
    ),
    "stream::list": (("stream_name", "str"), ("group_id", "str")),
    "stream::list_groups": (("stream_name", "str"),),
    "stream::list_all": (),
    "stream::send": (
        ("stream_name", "str"),
        ("group_id", "str"),
        ("id", "opt"),
        ("type", "str"),
        ("data", "any"),
    ),
    "state::set": (("scope", "str"), ("key", "str"), ("value", "any")),
    "state::get": (("scope", "str"), ("key", "str")),
    "state::delete": (("scope", "str"), ("key", "str")),
    "state::update": (("scope", "str"), ("key", "str"), ("ops", "ops")),
    "state::list": (("scope", "str"),),
    "state::list_groups": (),
}
RUST_NAMES = {
    "stream::set": "StreamSetInput",
    "stream::get": "StreamGetInput",
    "stream::delete": "StreamDeleteInput",
    "stream::update": "StreamUpdateInput",
    "stream::list": "StreamListInput",
    "stream::list_groups": "StreamListGroupsInput",
    "stream::list_all": "StreamListAllInput",
    "stream::send": "StreamSendInput",
    "state::set": "StateSetInput",
    "state::get": "StateGetInput",
    "state::delete": "StateDeleteInput",
    "state::update": "StateUpdateInput",
    "state::list": "StateGetGroupInput",
    "state::list_groups": "StateListGroupsInput",
}
FUNCTION_IDS = sorted(FIELDS)
WRITE_IDS = [
    "stream::set",
    "stream::update",
    "stream::delete",
    "stream::send",
    "state::set",
    "state::update",
    "state::delete",
]

_BY_KIND: dict[str, st.SearchStrategy[Any]] = {
    "str": names,
    "opt": st.one_of(st.none(), names),
    "any": json_values(8),
    "ops": op_lists,
}
extra_fields = st.dictionaries(
    st.sampled_from(["extra", "zzz", "Stream_name", "", "path"]), json_values(3), max_size=2
)


@st.composite
def valid_payloads(draw: st.DrawFn, function_id: str) -> dict[str, Any]:
    """A payload the engine accepts: every required field of the right type, maybe extras."""
    payload: dict[str, Any] = draw(extra_fields)
    for field, kind in FIELDS[function_id]:
        if kind == "opt" and draw(st.booleans()):
            continue  # an Option may be absent
        payload[field] = draw(_BY_KIND[kind])
    if function_id == "state::set" and draw(st.booleans()):
        payload["data"] = payload.pop("value")  # the alias
    return payload


def calls(function_ids: list[str] | None = None) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    ids = function_ids or FUNCTION_IDS
    return st.sampled_from(ids).flatmap(
        lambda fid: valid_payloads(fid).map(lambda payload: (fid, payload))
    )


wrong_strings = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)
wrong_ops = st.one_of(
    st.lists(malformed_ops, min_size=1, max_size=1),
    st.none(),
    st.integers(),
    st.text(max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)
any_payloads = st.one_of(
    json_values(10),
    st.dictionaries(
        st.sampled_from(
            [
                "stream_name",
                "group_id",
                "item_id",
                "data",
                "ops",
                "scope",
                "key",
                "value",
                "id",
                "type",
            ]
        ),
        st.one_of(names, wrong_strings, json_values(3), op_lists, wrong_ops),
        max_size=6,
    ),
    st.lists(st.one_of(names, json_values(2)), max_size=6),
)
