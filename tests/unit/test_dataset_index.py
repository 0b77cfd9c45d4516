"""The text-hash index of a dataset version: lookups against every row, updates that keep it sorted."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from comprehend_al.datasets import index


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_every_indexed_text_is_found_and_an_unknown_one_is_not() -> None:
    """Given an index of three texts in two parts, when texts are looked up, then each indexed text is found
    at its part and row and an unknown text is reported absent."""
    texts = ["a", "b", "c"]
    keys = index.hashes((digest(t) for t in texts), 3)
    built = index.update(
        index.empty(),
        [],
        np.concatenate([index.entries(keys[:2], 0, [0, 1], [0, 1]), index.entries(keys[2:], 1, [0], [0])]),
    )

    found = index.find(built, index.hashes((digest(t) for t in ["c", "zzz", "a"]), 3))

    assert found[1] == -1
    assert (int(built["part"][found[0]]), int(built["row"][found[0]])) == (1, 0)
    assert (int(built["part"][found[2]]), int(built["row"][found[2]])) == (0, 0)


def test_an_update_drops_the_replaced_rows_and_stays_sorted() -> None:
    """Given an index, when one entry is removed and two are added, then the result is sorted by hash and
    holds exactly the remaining and added texts."""
    keys = index.hashes((digest(str(i)) for i in range(5)), 5)
    built = index.update(index.empty(), [], index.entries(keys, 0, range(5), [0] * 5))
    gone = int(index.find(built, keys[2:3])[0])
    more = index.hashes((digest(t) for t in ["x", "y"]), 2)

    updated = index.update(built, [gone], index.entries(more, 1, [0, 1], [0, 0]))

    assert len(updated) == 6 and bool(np.all(np.diff(updated["hash"].astype(np.float64)) >= 0))
    assert index.find(updated, keys[2:3])[0] == -1 and (index.find(updated, more) >= 0).all()


def test_an_index_survives_its_stored_form_and_another_array_is_refused() -> None:
    """Given an index, when it is stored and read back, then it is unchanged; an array of another shape is
    not taken for an index."""
    keys = index.hashes((digest(str(i)) for i in range(3)), 3)
    built = index.update(index.empty(), [], index.entries(keys, 2, range(3), [1, 0, 1]))

    assert (index.load(index.dump(built)) == built).all()
    with pytest.raises(ValueError, match="not a dataset index"):
        index.load(index.dump(np.zeros(3)))  # type: ignore[arg-type]
