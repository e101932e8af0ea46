"""Property tests of the copy command's pure helpers: counting and naming stores."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from iii_core._copy import _tally
from iii_core.backends.engine_dir import STATE_SUBDIR, STREAM_SUBDIR, engine_directories

hash_keys = st.builds(
    lambda kind, name: kind + name, st.sampled_from(["stream:", "state:"]), st.text()
)


@given(st.lists(st.tuples(hash_keys, st.integers(min_value=0, max_value=10**6))))
def test_tally_counts_non_empty_hashes_and_their_items(sizes: list[tuple[str, int]]) -> None:
    before = list(sizes)
    groups, scopes, items = _tally(iter(sizes))
    assert sizes == before
    assert groups == sum(1 for key, n in sizes if n and key.startswith("stream:"))
    assert scopes == sum(1 for key, n in sizes if n and key.startswith("state:"))
    assert items == sum(n for _, n in sizes)


paths = st.text(st.characters(blacklist_characters=":\x00"), min_size=1)


@given(paths)
def test_a_data_directory_names_the_shipped_layout(root: str) -> None:
    assert engine_directories(root) == (Path(root) / STREAM_SUBDIR, Path(root) / STATE_SUBDIR)


@given(paths, paths)
def test_two_directories_are_named_as_in_path(streams: str, state: str) -> None:
    assert engine_directories(f"{streams}:{state}") == (Path(streams), Path(state))
