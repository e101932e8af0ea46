"""iii-core installed as users install it: ``python -m build`` makes the sdist and the wheel, and
``pip`` installs them, and the checkout, into fresh virtual environments (no system site
packages; pip's cache on, so a run after the first takes seconds). Without an extra, each
optional part says which extra to install, in one line; with the extras, ``apply``, ``call``
(on a real Redis) and ``serve`` work.

These tests reach the package index for the extras' dependencies: that is what proves the extras
resolve.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tomllib
import urllib.request
import zipfile
from dataclasses import dataclass
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from iii_core._cli_exit import EXIT_FAILED, EXIT_OK
from iii_core._extras import EXTRA_PACKAGES
from tests.redis_server import RedisServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
PUBLISHED_EXTRAS = ["otel", "redis", "serve"]
ALL_EXTRAS = ",".join(PUBLISHED_EXTRAS)
APPLY_LINE = '{"old": {"n": 1}, "ops": [{"type": "increment", "path": "n", "by": 2}]}\n'
SET_LINE = (
    '{"function_id": "stream::set", "payload": {"stream_name": "s", "group_id": "g",'
    ' "item_id": "i", "data": {"n": 1}}}\n'
)


@dataclass(frozen=True)
class Distributions:
    wheel: Path
    sdist: Path


@dataclass(frozen=True)
class Environment:
    """A fresh virtual environment with iii-core installed from one source."""

    path: Path

    def run(
        self, *args: str, stdin: str = "", timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        program = str(self.path / "bin" / args[0])
        return subprocess.run(
            [program, *args[1:]],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.path,  # never the checkout, so nothing is imported from it
            env=_clean_environment(),
        )


def _clean_environment() -> dict[str, str]:
    # The test's own virtual environment must not leak into the fresh one.
    hidden = {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}
    return {key: value for key, value in os.environ.items() if key not in hidden}


def _install(path: Path, requirement: str) -> Environment:
    """``pip install requirement`` into the virtual environment at ``path`` (made if new)."""
    if not path.exists():
        subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120
        )
    # The test environment's pip installs into the new one: its cache, its version (>= 25.1).
    done = subprocess.run(
        [
            sys.executable, "-m", "pip", "--python", str(path / "bin" / "python"),
            "install", "--quiet", "--no-input", requirement,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=_clean_environment(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return Environment(path)


@pytest.fixture(scope="module")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> Distributions:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = out.glob("iii_core-*.whl")
    (sdist,) = out.glob("iii_core-*.tar.gz")
    return Distributions(wheel, sdist)


@pytest.fixture(scope="module")
def core_only(
    distributions: Distributions, tmp_path_factory: pytest.TempPathFactory
) -> Environment:
    return _install(tmp_path_factory.mktemp("venv") / "core", str(distributions.wheel))


@pytest.fixture(scope="module")
def every_extra(
    distributions: Distributions, tmp_path_factory: pytest.TempPathFactory
) -> Environment:
    requirement = f"iii-core[{ALL_EXTRAS}] @ {distributions.wheel.as_uri()}"
    return _install(tmp_path_factory.mktemp("venv") / "all", requirement)


def _assert_core_commands(environment: Environment) -> None:
    version = environment.run("iii-core", "--version")
    assert re.fullmatch(r"iii-core \d+\.\d+\.\d+\S*\n", version.stdout), version
    applied = environment.run("iii-core", "apply", stdin=APPLY_LINE)
    assert applied.returncode == EXIT_OK
    assert json.loads(applied.stdout) == {"new_value": {"n": 3}, "errors": []}
    called = environment.run("iii-core", "call", stdin=SET_LINE)
    assert called.returncode == EXIT_OK
    assert json.loads(called.stdout) == {"result": {"old_value": None, "new_value": {"n": 1}}}


def test_wheel_metadata_advertises_only_the_published_extras(
    distributions: Distributions,
) -> None:
    with zipfile.ZipFile(distributions.wheel) as wheel:
        (metadata_name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = wheel.read(metadata_name).decode()
        entry_points = wheel.read(metadata_name.replace("METADATA", "entry_points.txt")).decode()
    extras = sorted(re.findall(r"^Provides-Extra: (\S+)$", metadata, re.MULTILINE))
    assert extras == PUBLISHED_EXTRAS  # the dev group is not a feature
    assert "iii-core = iii_core.cli:main" in entry_points


def test_extras_hint_table_agrees_with_pyproject() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    optional = declared["project"]["optional-dependencies"]
    assert sorted(optional) == sorted(EXTRA_PACKAGES) == PUBLISHED_EXTRAS
    providers = packages_distributions()
    for extra, requirements in optional.items():
        wanted = {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower() for r in requirements}
        provided = {
            distribution.lower()
            for package in EXTRA_PACKAGES[extra]
            for distribution in providers[package.partition(".")[0]]
        }
        # Each package the hint checks comes from the extra, and each distribution of the extra
        # provides a package the hint checks.
        assert provided & wanted, extra
        assert wanted <= provided, (extra, wanted - provided)


def test_without_extras_the_core_commands_and_the_demo_work(core_only: Environment) -> None:
    _assert_core_commands(core_only)
    demo = core_only.run("python", str(ROOT / "examples" / "demo.py"))
    assert (demo.returncode, demo.stderr) == (0, "")
    assert "stream::set" in demo.stdout


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("serve",), "iii-core serve needs the 'serve' extra: pip install 'iii-core[serve]'"),
        (
            ("call", "--redis", "redis://127.0.0.1:6379/0"),
            "iii-core call --redis needs the 'redis' extra: pip install 'iii-core[redis]'",
        ),
    ],
)
def test_without_an_extra_the_command_names_it(
    core_only: Environment, args: tuple[str, ...], line: str
) -> None:
    done = core_only.run("iii-core", *args)
    assert (done.returncode, done.stderr, done.stdout) == (EXIT_FAILED, line + "\n", "")


@pytest.mark.parametrize(
    ("statement", "extra"),
    [
        ("import iii_core.server", "serve"),
        ("import iii_core.backends.redis", "redis"),
        ("from iii_core.backends import AsyncRedisStore", "redis"),
        ("from iii_core.observability import init_otel", "otel"),
    ],
)
def test_without_an_extra_the_import_names_it(
    core_only: Environment, statement: str, extra: str
) -> None:
    done = core_only.run("python", "-c", statement)
    assert done.returncode == 1
    assert f"pip install 'iii-core[{extra}]'" in done.stderr.splitlines()[-1]


def test_following_the_hint_installs_the_extra(
    distributions: Distributions, tmp_path: Path, redis_server: RedisServer
) -> None:
    environment = _install(tmp_path / "venv", str(distributions.wheel))
    refused = environment.run("iii-core", "call", "--redis", redis_server.url, stdin=SET_LINE)
    assert refused.returncode == EXIT_FAILED
    command = refused.stderr.strip().partition(": ")[2]
    assert command == "pip install 'iii-core[redis]'"
    requirement = command.split("'")[1]
    _install(environment.path, requirement)  # the same environment: pip keeps iii-core
    redis_server.flush()
    called = environment.run("iii-core", "call", "--redis", redis_server.url, stdin=SET_LINE)
    assert (called.returncode, called.stderr) == (EXIT_OK, "")
    assert json.loads(called.stdout) == {"result": {"old_value": None, "new_value": {"n": 1}}}


def test_with_every_extra_apply_call_and_redis_work(
    every_extra: Environment, redis_server: RedisServer
) -> None:
    _assert_core_commands(every_extra)
    redis_server.flush()
    called = every_extra.run("iii-core", "call", "--redis", redis_server.url, stdin=SET_LINE)
    assert (called.returncode, called.stderr) == (EXIT_OK, "")
    assert json.loads(called.stdout) == {"result": {"old_value": None, "new_value": {"n": 1}}}
    otel = every_extra.run("python", "-c", "from iii_core.observability import init_otel")
    assert (otel.returncode, otel.stderr) == (0, "")


def test_with_every_extra_serve_answers_and_stops(every_extra: Environment) -> None:
    server = subprocess.Popen(
        [str(every_extra.path / "bin" / "iii-core"), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=every_extra.path,
        env=_clean_environment(),
    )
    try:
        assert server.stdout is not None
        listening = server.stdout.readline()
        address = re.search(r"listening on (127\.0\.0\.1:\d+)", listening)
        assert address is not None, listening
        request = urllib.request.Request(
            f"http://{address.group(1)}/call/state::set",
            data=b'{"scope": "s", "key": "k", "value": 7}',
            headers={"Content-Type": "application/json"},  # any other type is refused (415)
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.loads(response.read()) == {"result": {"old_value": None, "new_value": 7}}
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == EXIT_OK
    finally:
        server.kill()
        server.wait()


@pytest.mark.parametrize("source", ["sdist", "checkout"])
def test_sdist_and_checkout_install_with_every_extra(
    source: str, distributions: Distributions, tmp_path: Path
) -> None:
    origin = distributions.sdist if source == "sdist" else ROOT
    environment = _install(tmp_path / "venv", f"iii-core[{ALL_EXTRAS}] @ {origin.as_uri()}")
    _assert_core_commands(environment)
    served = environment.run("python", "-c", "import iii_core.server, redis, opentelemetry.sdk")
    assert (served.returncode, served.stderr) == (0, "")
