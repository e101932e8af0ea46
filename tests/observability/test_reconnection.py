"""``ReconnectionConfig``'s backoff formula as pure functions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from msgspec import UNSET

from iii_core.observability import (
    ReconnectionConfig,
    reconnection_delay_ms,
    reconnection_should_retry,
)
from tests.observability.strategies import SETTINGS

configs = st.builds(
    ReconnectionConfig,
    initial_delay_ms=st.integers(0, 10_000),
    max_delay_ms=st.integers(0, 100_000),
    backoff_multiplier=st.floats(1.0, 4.0),
    jitter_factor=st.floats(0.0, 1.0),
    max_retries=st.integers(-1, 20),
)
randoms = st.floats(0.0, 1.0, exclude_max=True)


def _number(value: object) -> float:
    assert isinstance(value, int | float)
    return float(value)


def reference_delay(config: ReconnectionConfig, attempt: int, random: float) -> float:
    initial, multiplier = _number(config.initial_delay_ms), _number(config.backoff_multiplier)
    capped = min(initial * multiplier**attempt, _number(config.max_delay_ms))
    return max(capped + capped * _number(config.jitter_factor) * (2 * random - 1), 0.0)


@SETTINGS
@given(configs, st.integers(0, 60), randoms)
def test_delay_equals_the_reference(
    config: ReconnectionConfig, attempt: int, random: float
) -> None:
    assert reconnection_delay_ms(config, attempt, random) == pytest.approx(
        reference_delay(config, attempt, random)
    )


@SETTINGS
@given(configs, st.integers(0, 60), randoms)
def test_delay_within_jitter_of_the_capped_delay(
    config: ReconnectionConfig, attempt: int, random: float
) -> None:
    capped = reference_delay(config, attempt, 0.5)
    jitter = capped * _number(config.jitter_factor)
    delay = reconnection_delay_ms(config, attempt, random)
    assert max(capped - jitter, 0.0) - 1e-6 <= delay <= capped + jitter + 1e-6


@SETTINGS
@given(configs, st.integers(0, 60))
def test_delay_without_jitter_never_shrinks(config: ReconnectionConfig, attempt: int) -> None:
    assert (
        reconnection_delay_ms(config, attempt, 0.5)
        <= reconnection_delay_ms(config, attempt + 1, 0.5) + 1e-9
    )


def test_default_config_doubles_from_one_second_to_thirty() -> None:
    delays = [reconnection_delay_ms(ReconnectionConfig(), n, 0.5) for n in range(7)]
    assert delays == [1000, 2000, 4000, 8000, 16000, 30000, 30000]
    assert reconnection_delay_ms(ReconnectionConfig(), 0, 0.0) == pytest.approx(700)
    assert reconnection_delay_ms(ReconnectionConfig(), 10_000, 0.99) <= 39_000


def test_unset_fields_take_the_defaults() -> None:
    config = ReconnectionConfig(initial_delay_ms=UNSET, max_retries=UNSET)
    assert reconnection_delay_ms(config, 1, 0.5) == 2000
    assert reconnection_should_retry(config, 10**9)


@SETTINGS
@given(st.integers(-1, 20), st.integers(0, 40))
def test_should_retry(max_retries: int, attempt: int) -> None:
    config = ReconnectionConfig(max_retries=max_retries)
    assert reconnection_should_retry(config, attempt) is (
        max_retries == -1 or attempt < max_retries
    )


@pytest.mark.parametrize(("attempt", "random"), [(-1, 0.5), (0, 1.0), (0, -0.1)])
def test_bad_arguments(attempt: int, random: float) -> None:
    with pytest.raises(ValueError):
        reconnection_delay_ms(ReconnectionConfig(), attempt, random)
