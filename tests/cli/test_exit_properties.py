"""The pure helpers of iii_core._cli_exit and iii_core._extras, against simple models."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from iii_core._cli_exit import EXIT_FAILED, CommandError, one_line
from iii_core._extras import EXTRA_PACKAGES, MissingExtra, extra_hint, require_extra

whitespace_heavy = st.text(alphabet=st.sampled_from(["a", "é", " ", "\n", "\t", "\r", "x"]))


@given(st.one_of(st.text(), whitespace_heavy))
def test_one_line_keeps_the_words_on_one_line(text: str) -> None:
    line = one_line(text)
    assert line.split(" ") == text.split() or (line == "" and text.split() == [])
    assert not any(char in line for char in "\n\r\t\v\f\x1c\x1d\x1e\x85\u2028\u2029")
    assert one_line(line) == line


@given(st.text(min_size=1).map(one_line).filter(bool), st.sampled_from(sorted(EXTRA_PACKAGES)))
def test_extra_hint_is_one_line_naming_the_extra(feature: str, extra: str) -> None:
    hint = extra_hint(feature, extra)
    assert hint == f"{feature} needs the '{extra}' extra: pip install 'iii-core[{extra}]'"
    assert one_line(hint) == hint
    error = MissingExtra(feature, extra, "somepackage")
    assert isinstance(error, ImportError)
    assert (error.message, error.name, error.extra) == (hint, "somepackage", extra)


def test_require_extra_passes_when_the_extra_is_installed() -> None:
    # The test environment has every extra (make install).
    for extra in EXTRA_PACKAGES:
        require_extra(extra, "test")


def test_command_error_defaults_to_failed() -> None:
    assert CommandError("x").status == EXIT_FAILED
