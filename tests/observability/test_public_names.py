"""``iii_core.observability`` offers every name of ``iii_helpers.observability`` 0.20.0, plus
four additions, and re-exports the generated config types. Against iii-helpers 0.21.3 and later
(which removed ``DEFAULT_ALLOWLIST``), the 0.20.0 name is kept here on purpose."""

from __future__ import annotations

import inspect

import iii_helpers.observability as published

import iii_core.observability as ours
from iii_core._generated import observability as generated

ADDITIONS = {
    "NonStringKeyError",
    "OtelConfigError",
    "reconnection_delay_ms",
    "reconnection_should_retry",
}


# Names of 0.20.0 that later iii-helpers removed, and that iii-core keeps.
KEPT_FROM_0_20 = {"DEFAULT_ALLOWLIST"}


def test_every_published_name_and_the_additions() -> None:
    assert set(ours.__all__) - (set(published.__all__) | ADDITIONS) <= KEPT_FROM_0_20
    assert set(published.__all__) <= set(ours.__all__)
    for name in ours.__all__:
        assert getattr(ours, name) is not None


def test_config_types_are_the_generated_ones() -> None:
    assert ours.OtelConfig is generated.OtelConfig
    assert ours.ReconnectionConfig is generated.ReconnectionConfig


def test_signatures_match_the_published_functions() -> None:
    """Same parameters, names and kinds; ours may add optional ones at the end (the
    environment of ``resolve_max_bytes_from_env``)."""
    for name in published.__all__:
        mine, theirs = getattr(ours, name), getattr(published, name)
        if not inspect.isfunction(theirs) and not inspect.isclass(theirs):
            continue
        if name in ("OtelConfig", "ReconnectionConfig"):  # generated Structs: same fields
            continue
        ours_params = list(inspect.signature(mine).parameters.values())
        their_params = list(inspect.signature(theirs).parameters.values())
        shared = [(p.name, p.kind) for p in ours_params[: len(their_params)]]
        assert shared == [(p.name, p.kind) for p in their_params], name
        assert all(p.default is not p.empty for p in ours_params[len(their_params) :]), name
        assert inspect.iscoroutinefunction(mine) == inspect.iscoroutinefunction(theirs), name
