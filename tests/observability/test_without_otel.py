"""Importing ``iii_core.observability`` without OpenTelemetry installed, in a subprocess where
``opentelemetry`` (and the rest of the ``otel`` extra) cannot be imported."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import logging
    import sys
    logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
    for blocked in ("opentelemetry", "google.protobuf", "websockets", "httpx"):
        sys.modules[blocked] = None  # makes `import opentelemetry...` fail

    import iii_core
    import iii_core.observability as observability
    from iii_core.observability import (
        DEFAULT_ALLOWLIST, REDACTED_PLACEHOLDER, Logger, OtelConfig, ReconnectionConfig,
        redact, redact_and_truncate, resolve_max_bytes_from_env, reconnection_delay_ms,
    )

    assert redact({"password": 1, "n": [2]}) == {"password": REDACTED_PLACEHOLDER, "n": [2]}
    assert redact_and_truncate({"a": "b"}, 3) == ('...', True)
    assert resolve_max_bytes_from_env({"III_TRACE_PAYLOAD_MAX_BYTES": "10"}) == 10
    assert DEFAULT_ALLOWLIST[0] == "iii.session.id"
    assert OtelConfig().metrics_export_interval_ms == 60000
    assert reconnection_delay_ms(ReconnectionConfig(), 0, 0.5) == 1000
    Logger(service_name="svc").info("plain logging", {"k": 1})
    assert not any(
        name.startswith("opentelemetry") and module is not None
        for name, module in sys.modules.items()
    )

    try:
        from iii_core.observability import with_span
    except ImportError as exc:
        print("from-import:", exc)
    try:
        observability.init_otel
    except ImportError as exc:
        print("attribute:", exc)
    print("dir:", "init_otel" in dir(observability))
    """
)


@pytest.fixture(scope="module")
def output() -> str:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_pure_functions_and_logger_work(output: str) -> None:
    assert 'iii.logger INFO [svc] plain logging {"k":1}' in output


@pytest.mark.parametrize(
    ("how", "name"), [("from-import", "with_span"), ("attribute", "init_otel")]
)
def test_otel_names_raise_an_import_error_naming_the_extra(
    output: str, how: str, name: str
) -> None:
    line = next(line for line in output.splitlines() if line.startswith(f"{how}:"))
    assert f"iii_core.observability.{name} needs OpenTelemetry" in line
    assert "pip install 'iii-core[otel]'" in line


def test_names_are_still_listed(output: str) -> None:
    assert "dir: True" in output


def test_unknown_names_are_attribute_errors() -> None:
    from iii_core import observability

    with pytest.raises(AttributeError):
        observability.no_such_name  # noqa: B018
