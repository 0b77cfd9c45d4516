"""The text-hash index of a dataset version: every document it holds, as one sorted numpy array.

One entry per live document (20 bytes: 1M documents take 20 MB), sorted by ``hash``:

* ``hash``: the first 8 bytes of the document's text hash (sha256 of the normalised text), so duplicates
  and conflicts are found against the whole dataset without reading it. Two different texts share 8 bytes
  with probability ~n²/2⁶⁵ (3·10⁻⁸ for a million documents);
* ``part`` / ``row``: where the document is (the part's id in the version's manifest, its position among
  the rows of the part's file);
* ``labels``: the document's label set, as an index into the manifest's ``labelsets``.

Stored as one ``.npy`` object per version (``numpy.save``, no pickle) and read back in one call.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

DTYPE = np.dtype([("hash", "<u8"), ("part", "<u4"), ("row", "<u4"), ("labels", "<u4")])
Index = npt.NDArray[np.void]


def empty() -> Index:
    return np.zeros(0, dtype=DTYPE)


def hash64(hex_digest: str) -> int:
    """The index key of a text hash (sha256 hex): its first 8 bytes."""
    return int(hex_digest[:16], 16)


def hashes(hex_digests: Iterable[str], count: int) -> npt.NDArray[np.uint64]:
    return np.fromiter((hash64(h) for h in hex_digests), dtype=np.uint64, count=count)


def entries(hash_values: Iterable[int], part: Any, rows: Iterable[int], labels: Iterable[int]) -> Index:
    """Index entries (unsorted); ``part``: one part id for all, or one per entry."""
    hv, rv, lv = list(hash_values), list(rows), list(labels)
    out = np.zeros(len(hv), dtype=DTYPE)
    out["hash"], out["part"], out["row"], out["labels"] = hv, part, rv, lv
    return out


def find(index: Index, keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """Position in ``index`` of each key, -1 where absent (keys are unique in an index)."""
    if len(index) == 0:
        return np.full(len(keys), -1, dtype=np.int64)
    at = np.searchsorted(index["hash"], keys)
    clipped = np.minimum(at, len(index) - 1)
    return np.where(index["hash"][clipped] == keys, clipped, -1).astype(np.int64)


def update(index: Index, removed: Iterable[int], added: Index) -> Index:
    """``index`` without the entries at ``removed`` positions, plus ``added``, sorted by hash."""
    keep = np.ones(len(index), dtype=bool)
    gone = np.fromiter(removed, dtype=np.int64)
    keep[gone] = False
    combined = np.concatenate([index[keep], added])
    return combined[np.argsort(combined["hash"], kind="stable")]


def dump(index: Index) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, index, allow_pickle=False)
    return buffer.getvalue()


def load(raw: bytes) -> Index:
    index = np.load(io.BytesIO(raw), allow_pickle=False)
    if index.dtype != DTYPE:
        raise ValueError(f"not a dataset index: dtype {index.dtype}")
    return index
