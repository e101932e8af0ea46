"""The optional extras and the one hint every optional part gives when its extra is missing.

Rules: one sentence for every missing extra, ``"<feature> needs the '<extra>' extra: pip install
'iii-core[<extra>]'"``, so that a user who meets it once recognises it everywhere. The packages
of each extra are listed here once, as ``pyproject.toml``'s ``[project.optional-dependencies]``
declares them (``tests/cli/test_packaging.py`` checks that the two agree). Nothing is imported
to check: ``find_spec`` only looks the packages up.
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import Final

from iii_core.errors import ErrorCode, IIICoreError

__all__ = ["EXTRA_PACKAGES", "MissingExtra", "extra_hint", "require_extra"]

# The top-level import names each published extra installs.
EXTRA_PACKAGES: Final[dict[str, tuple[str, ...]]] = {
    "redis": ("redis",),
    "serve": ("websockets", "h11"),
    "otel": ("opentelemetry", "google.protobuf", "httpx", "websockets"),
}


def extra_hint(feature: str, extra: str) -> str:
    """The one-line hint: ``"iii-core serve needs the 'serve' extra: pip install ..."``."""
    return f"{feature} needs the {extra!r} extra: pip install 'iii-core[{extra}]'"


class MissingExtra(IIICoreError, ModuleNotFoundError):
    """A package of an extra is not installed; ``message`` is :func:`extra_hint`'s line and
    ``name`` the missing package."""

    code = ErrorCode.MISSING_EXTRA

    def __init__(self, feature: str, extra: str, package: str) -> None:
        super().__init__(extra_hint(feature, extra))
        self.name = package
        self.extra = extra


def _installed(package: str) -> bool:
    try:
        return find_spec(package) is not None
    except ModuleNotFoundError:  # the parent of a dotted name (``google``) is missing
        return False


def require_extra(extra: str, feature: str) -> None:
    """Raise :class:`MissingExtra` unless every package of ``extra`` is installed."""
    for package in EXTRA_PACKAGES[extra]:
        if not _installed(package):
            raise MissingExtra(feature, extra, package)
