"""A dataset version as a manifest of immutable parts, so that merging reads and writes what changed.

Layout of version ``V`` of a kind (under ``datasets/<kind>/V/``):

* ``manifest.json``: the version's parts, in merge order. A part is a batch's data file (or the legacy
  base's ``train.csv``), never rewritten: ``{"id", "batch", "uri", "rows", "live", "view", "signature"}``,
  ``live`` the rows of the file the version holds (not dropped as duplicates, not replaced by a newer
  label), ``view`` the key of its training file. Also ``batches`` (ids in merge order), ``base``,
  ``labelsets`` (the label sets the index refers to) and ``waiting``.
* ``index.npy``: every live row's text hash, part, row and label set (:mod:`comprehend_al.datasets.index`):
  duplicates and conflicts of new rows are found against the whole dataset in one sorted array.
* ``train/part-NNNNN.csv``: per part, the rows Comprehend trains on (the live rows less waiting labels).
  ``DatasetRef.train_uri`` is this prefix: Comprehend trains on every object under it.

Merging new batches onto the current version (the usual case: uploads arrive after everything it holds)
reads the manifest, the index and the new batches' files; a part whose training file is unchanged is
copied inside S3 from the previous version (nothing passes through the function), only the parts that
lost rows to a newer label, or whose waiting labels changed, are read and rewritten. A version without the
batches the current one added (the guard held them) starts from the current version's parent the same way.
Any other change of the batch list (a batch dropped or readmitted, a version written before this layout)
composes the version anew from the batches, one at a time: memory holds one part and the index, never
the whole data.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from comprehend_al.datasets import index as hindex
from comprehend_al.datasets.classification import Conflict
from comprehend_al.kinds import Merged, PartitionedKind, Waiting
from comprehend_al.lifecycle.deps import Deps
from comprehend_al.models import BatchStatus, ModelKind
from comprehend_al.store.records import BatchRecord, DatasetRecord

PART_ROWS = 10_000  # rows of a part at most: what a newer label for one of its rows makes us rewrite
MANIFEST = "manifest.json"
INDEX = "index.npy"
BASE = "base"


@dataclass
class State:
    """The parts and index being composed, and what the new batches did."""

    parts: list[dict[str, Any]] = field(default_factory=list)
    labelsets: list[str] = field(default_factory=list)
    index: hindex.Index = field(default_factory=hindex.empty)
    batches: list[str] = field(default_factory=list)
    added: int = 0
    duplicates: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    dirty: set[int] = field(default_factory=set)  # parts whose training file must be written anew
    previous: dict[int, dict[str, Any]] = field(default_factory=dict)  # part id → its previous entry
    _ids: dict[str, int] = field(default_factory=dict)

    def labelset(self, signature: str) -> int:
        if not self._ids and self.labelsets:
            self._ids = {s: i for i, s in enumerate(self.labelsets)}
        if signature not in self._ids:
            self._ids[signature] = len(self.labelsets)
            self.labelsets.append(signature)
        return self._ids[signature]


def folder(deps: Deps, kind: ModelKind, version: str) -> str:
    return f"{deps.settings.datasets_prefix}{kind.value}/{version}/"


def start(
    kind: ModelKind, deps: Deps, current: DatasetRecord | None, base: str | None, included: list[BatchRecord]
) -> tuple[State, list[BatchRecord]] | None:
    """The current version's state and the batches still to fold onto it, when it is a prefix of the
    batches to compose (same base, every batch it holds still first, in order); else ``None``."""
    if current is None or not current.index_uri or not current.lineage_uri or current.base != base:
        return None
    held = list(current.batches or [])
    if [b.batch_id for b in included[: len(held)]] != held:
        return None
    manifest = json.loads(deps.bucket.get(_key(current.lineage_uri)))
    state = State(
        parts=list(manifest["parts"]),
        labelsets=list(manifest["labelsets"]),
        index=hindex.load(deps.bucket.get(_key(current.index_uri))),
        batches=held,
    )
    state.previous = {int(p["id"]): p for p in state.parts}
    return state, included[len(held) :]


def _chunks(
    data: PartitionedKind, deps: Deps, kind: ModelKind, uri: str, rows: Any
) -> list[tuple[int, str, int]]:
    """``(number, uri, rows)`` of the parts of a file: the file itself up to :data:`PART_ROWS` rows, else
    files of that many rows written once (so a newer label rewrites one of them, never a whole big file)."""
    if len(rows) <= PART_ROWS:
        return [(0, uri, len(rows))]
    root = (
        f"{deps.settings.datasets_prefix}{kind.value}/parts/{hashlib.sha256(uri.encode()).hexdigest()[:16]}/"
    )
    out = []
    for number, start in enumerate(range(0, len(rows), PART_ROWS)):
        positions = range(start, min(start + PART_ROWS, len(rows)))
        key = f"{root}part-{number:05d}.csv"
        deps.bucket.put(key, data.part_view(rows, positions, ()))
        out.append((number, deps.bucket.uri(key), len(positions)))
    return out


def fold(
    data: PartitionedKind, deps: Deps, kind: ModelKind, state: State, owner: str, uri: str, *, counted: bool
) -> None:
    """Add the rows of the part ``uri`` (a batch's file) to ``state``: a row whose text the dataset holds
    with the same labels is dropped, with other labels it replaces that row (the newer label wins)."""
    rows = data.read_part(uri)
    keys = data.row_keys(rows)
    part = max((int(p["id"]) for p in state.parts), default=-1) + 1
    hashes = hindex.hashes((k for k, _ in keys), len(keys))
    found = hindex.find(state.index, hashes)
    labels = state.index["labels"]
    kept: dict[int, tuple[int, int]] = {}  # hash → (row, label set) of the rows this part keeps
    removed: set[int] = set()
    added = duplicates = 0
    conflicts: list[dict[str, Any]] = []
    for row, (digest, signature) in enumerate(keys):
        value, labelset = int(hashes[row]), state.labelset(signature)
        earlier = kept.get(value)
        at = int(found[row])
        if earlier is not None:
            old = earlier[1]
        elif at >= 0 and at not in removed:
            old = int(labels[at])
        else:
            kept[value] = (row, labelset)
            added += 1
            continue
        if old == labelset:
            duplicates += 1
            continue
        if earlier is None:
            removed.add(at)
            state.dirty.add(int(state.index["part"][at]))
        kept[value] = (row, labelset)
        conflicts.append(
            _conflict(digest, state.labelsets[old], signature, getattr(rows[row], "line", 0), data)
        )
    positions = np.fromiter((r for r, _ in kept.values()), dtype=np.int64, count=len(kept))
    new = hindex.entries(
        kept, part + positions // PART_ROWS, positions % PART_ROWS, (s for _, s in kept.values())
    )
    state.index = hindex.update(state.index, removed, new)
    for number, chunk_uri, size in _chunks(data, deps, kind, uri, rows):
        state.parts.append({"id": part + number, "batch": owner, "uri": chunk_uri, "rows": size})
        state.dirty.add(part + number)
    if owner != BASE:
        state.batches.append(owner)
    if counted:
        state.added += added
        state.duplicates += duplicates
        state.conflicts.extend(conflicts)


def _conflict(digest: str, old: str, new: str, line: int, data: PartitionedKind) -> dict[str, Any]:
    conflict = Conflict(
        text_hash=digest, old_labels=data.labels_of(old), new_labels=data.labels_of(new), line=line
    )
    return conflict.model_dump(mode="json")


def counts(data: PartitionedKind, state: State, waiting: set[str]) -> tuple[dict[str, int], int]:
    """Documents per label of the rows that train while ``waiting`` wait, and how many documents train."""
    per_set = np.bincount(state.index["labels"], minlength=len(state.labelsets))
    label_counts: dict[str, int] = {}
    documents = 0
    for labelset, number in enumerate(per_set.tolist()):
        labels = data.trains_as(data.labels_of(state.labelsets[labelset]), waiting)
        if number and labels:
            documents += number
            for label in dict.fromkeys(labels):
                label_counts[label] = label_counts.get(label, 0) + number
    return dict(sorted(label_counts.items())), documents


def write(
    data: PartitionedKind, deps: Deps, kind: ModelKind, version: str, state: State, waiting: dict[str, int]
) -> tuple[str, str, str, int]:
    """Write the version's training files, manifest and index; ``(train prefix URI, manifest, index, size
    of the training files)``."""
    root = folder(deps, kind, version)
    order = np.argsort(state.index["part"], kind="stable")
    by_part = state.index[order]
    ids = [int(p["id"]) for p in state.parts]
    bounds = np.searchsorted(by_part["part"], np.array([*ids, max(ids, default=0) + 1], dtype=np.uint32))
    affected = [
        i
        for i, s in enumerate(state.labelsets)
        if data.trains_as(data.labels_of(s), waiting) != data.labels_of(s)
    ]
    parts = []
    for number, part in enumerate(state.parts):
        live = by_part[bounds[number] : bounds[number + 1]]
        if len(live) == 0:
            continue
        touched = bool(affected) and bool(np.isin(live["labels"], affected).any())
        signature = f"{len(live)}:{','.join(sorted(waiting)) if touched else ''}"
        view = f"{root}train/part-{int(part['id']):05d}.csv"
        previous = state.previous.get(int(part["id"]))
        if part["id"] not in state.dirty and previous and previous.get("signature") == signature:
            deps.bucket.copy(previous["view"], view)  # inside S3: no bytes through the function
            size = int(previous.get("bytes", 0))
        else:
            keep = np.sort(live["row"]).tolist()
            if touched:  # some rows lose a waiting label: parse and rewrite them
                body = data.part_view(data.read_part(str(part["uri"])), keep, waiting)
            else:  # the kept records, byte for byte
                records = data.part_records(str(part["uri"]))
                body = b"".join(records[i] for i in keep)
                del records
            deps.bucket.put(view, body)
            size = len(body)
            del body
        parts.append({**part, "live": len(live), "view": view, "signature": signature, "bytes": size})
    manifest = {
        "version": version,
        "batches": state.batches,
        "labelsets": state.labelsets,
        "parts": parts,
        "waiting": waiting,
    }
    deps.bucket.put(root + MANIFEST, json.dumps(manifest).encode(), content_type="application/json")
    deps.bucket.put(root + INDEX, hindex.dump(state.index), content_type="application/octet-stream")
    total = sum(int(p["bytes"]) for p in parts)
    uris = deps.bucket.uri(f"{root}train/"), deps.bucket.uri(root + MANIFEST), deps.bucket.uri(root + INDEX)
    return *uris, total


def merged(state: State, documents: int, label_counts: dict[str, int]) -> Merged:
    return Merged(None, documents, label_counts, state.added, state.duplicates, state.conflicts)


def split(
    data: PartitionedKind,
    state: State,
    waiting: dict[str, int],
    notes: list[str],
    test_labels: set[str] | None,
) -> tuple[Merged, Waiting]:
    """Every row (waiting labels included) and what trains now."""
    every, total = counts(data, state, set())
    trainable_counts, documents = counts(data, state, set(waiting))
    trainable = merged(state, documents, trainable_counts)
    unknown = sorted((test_labels or set()) - set(trainable_counts))
    return merged(state, total, every), Waiting(trainable, waiting, notes, unknown)


def counted(batch: BatchRecord) -> bool:
    """New data counts in a version's figures (added, duplicates, conflicts); accepted data was counted."""
    return batch.status != BatchStatus.ACCEPTED


def _key(uri: str) -> str:
    return uri.split("/", 3)[3]
