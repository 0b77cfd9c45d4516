"""Batches and dataset versions: every upload is a batch, and a dataset version is a list of batches.

A dataset version holds, in arrival order, every batch whose status trains (pending, merged, accepted),
merged the way uploads always were (duplicates dropped, the newer label wins a conflict), on top of a
legacy base (the rows of a version written before batches existed, if any). Held and dropped batches
are left out, so "the champion's data plus the new batches that did no harm" is simply the batches that
are not held. Versions stay immutable: leaving a batch out writes a new version. Each version records
its batches and, in ``lineage.json``, the text hashes of the rows each batch contributes (so a version
"without batch B" is exactly the rows no other batch holds).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import Any, cast

from comprehend_al.kinds import Merged, PartitionedKind, Waiting
from comprehend_al.lifecycle import parts
from comprehend_al.lifecycle.deps import Deps
from comprehend_al.models import BatchOrigin, BatchStatus, DatasetRef, ModelKind
from comprehend_al.store.dynamo import now_iso
from comprehend_al.store.records import BatchRecord, DatasetRecord
from comprehend_al.store.registry import Registry

ORIGIN_PREFIXES = (("feedback-", BatchOrigin.FEEDBACK), ("review-", BatchOrigin.REVIEW))


def origin_of(key: str, upload_prefix: str) -> BatchOrigin:
    """``train/new/feedback-…`` is a label-buffer flush; ``train/new/review-…`` reviewed labels."""
    name = key[len(upload_prefix) :] if key.startswith(upload_prefix) else posixpath.basename(key)
    return next((origin for prefix, origin in ORIGIN_PREFIXES if name.startswith(prefix)), BatchOrigin.UPLOAD)


def batch_id(kind: ModelKind, sources: list[str]) -> str:
    """The same object versions are the same batch (a retried preparation finds it again)."""
    digest = hashlib.sha256("|".join([kind.value, *sorted(sources)]).encode()).hexdigest()
    return f"b{digest[:15]}"


@dataclass
class Composition:
    """A dataset version composed from batches (written, or ready to be)."""

    dataset: DatasetRef
    record: DatasetRecord
    merged: Merged  # every row, waiting labels included
    split: Waiting
    batches: list[BatchRecord]  # the batches it holds, in merge order
    new: list[BatchRecord] = field(default_factory=list)  # those no promoted model was trained on

    @property
    def version(self) -> str:
        return self.dataset.version


def base_version(current: DatasetRecord | None) -> str | None:
    """The legacy rows every composition starts from: a version written before batches existed."""
    if current is None:
        return None
    return current.version if current.batches is None else current.base


def eligible(batches: list[BatchRecord], exclude: Collection[str] = ()) -> list[BatchRecord]:
    return [b for b in batches if BatchStatus(b.status).trains and b.data_uri and b.batch_id not in exclude]


def compose(
    kind: ModelKind,
    deps: Deps,
    *,
    version: str,
    execution_id: str,
    reason: str,
    exclude: Collection[str] = (),
) -> Composition | None:
    """Write dataset version ``version``: the legacy base, then every batch that trains (but ``exclude``),
    and record it as current. ``None`` when there is nothing at all to compose."""
    data, registry = deps.data(kind), deps.registry
    every = registry.batches(kind)
    included = eligible(every, exclude)
    current = registry.current_record(kind)
    base = base_version(current)
    base_record = registry.dataset(kind, base) if base else None
    if not included and base_record is None:
        return None
    if getattr(data, "partitioned", False):
        return _compose_parts(
            kind, deps, version=version, execution_id=execution_id, reason=reason, exclude=exclude
        )
    rows = data.load(base_record.dataset) if base_record else data.empty()
    owners: dict[str, tuple[str, str]] = {key: ("base", sig) for key, sig in data.row_keys(rows)}
    merged = Merged(rows, 0, {}, 0, 0, [])
    added = duplicates = 0
    conflicts: list[dict[str, Any]] = []
    for batch in included:
        new_rows = data.load_batch(str(batch.data_uri))
        merged = data.merge(merged.data, new_rows)
        if batch.status != BatchStatus.ACCEPTED:
            added += merged.added
            duplicates += merged.duplicates_dropped
            conflicts.extend(merged.conflicts)
        for key, sig in data.row_keys(new_rows):
            if owners.get(key, ("", ""))[1] != sig:
                owners[key] = (batch.batch_id, sig)
    if not included:
        merged = data.merge(rows, data.empty())
    merged = Merged(merged.data, merged.documents, merged.label_counts, added, duplicates, conflicts)
    test = data.test_set()
    split = data.split_waiting(merged, test)
    dataset = data.write(split.trainable, version, test, split.waiting)
    lineage: dict[str, list[str]] = {}
    for key, (owner, _) in sorted(owners.items()):
        lineage.setdefault(owner, []).append(key)
    lineage_key = f"{deps.settings.datasets_prefix}{kind.value}/{version}/lineage.json"
    document = {"version": version, "base": base, "batches": lineage, "waiting": split.waiting}
    deps.bucket.put(lineage_key, json.dumps(document).encode(), content_type="application/json")
    values = {
        "batches": [b.batch_id for b in included],
        "base": base,
        "lineage_uri": deps.bucket.uri(lineage_key),
        "waiting": split.waiting,
        "without": _without(every, exclude),
        "reason": reason,
    }
    return _registered(
        deps.registry, dataset, values, current, execution_id, merged=merged, split=split, included=included
    )


def _compose_parts(
    kind: ModelKind, deps: Deps, *, version: str, execution_id: str, reason: str, exclude: Collection[str]
) -> Composition:
    """:func:`compose` for a kind stored as parts (:mod:`comprehend_al.lifecycle.parts`): new batches are
    folded onto the current version when it holds every other batch, else the version is composed anew."""
    data, registry = cast(PartitionedKind, deps.data(kind)), deps.registry
    every = registry.batches(kind)
    included = eligible(every, exclude)
    current = registry.current_record(kind)
    base = base_version(current)
    # onto the current version; else onto its parent (the guard held what the current one added)
    resumed = parts.start(kind, deps, current, base, included)
    if resumed is None and current is not None and current.parent:
        resumed = parts.start(kind, deps, registry.dataset(kind, current.parent), base, included)
    if resumed is None:
        state, todo = parts.State(), included
        base_record = registry.dataset(kind, base) if base else None
        if base_record is not None:  # a version stored as one file: it is read as one part
            parts.fold(data, deps, kind, state, parts.BASE, base_record.dataset.train_uri, counted=False)
    else:
        state, todo = resumed
    for batch in todo:
        parts.fold(data, deps, kind, state, batch.batch_id, str(batch.data_uri), counted=parts.counted(batch))
    test = data.test_set()
    every_counts, _ = parts.counts(data, state, set())
    waiting, notes, test_labels = data.waiting_labels(every_counts, test)
    merged, split = parts.split(data, state, waiting, notes, test_labels)
    train_uri, manifest_uri, index_uri, size = parts.write(data, deps, kind, version, state, waiting)
    split = replace(split, trainable=replace(split.trainable, size_bytes=size))
    dataset = data.dataset_ref(split.trainable, version, test, train_uri, waiting)
    values = {
        "batches": [b.batch_id for b in included],
        "base": base,
        "lineage_uri": manifest_uri,
        "index_uri": index_uri,
        "waiting": waiting,
        "without": _without(every, exclude),
        "reason": reason,
    }
    return _registered(
        deps.registry, dataset, values, current, execution_id, merged=merged, split=split, included=included
    )


def _without(every: list[BatchRecord], exclude: Collection[str]) -> list[str]:
    return sorted(
        b.batch_id
        for b in every
        if b.batch_id in exclude or b.status in (BatchStatus.HELD, BatchStatus.DROPPED)
    )


def new_batch(
    kind: ModelKind,
    *,
    bid: str,
    status: BatchStatus,
    source: str,
    sources: list[str],
    upload_prefix: str,
    execution_id: str,
    **values: Any,
) -> BatchRecord:
    entry = {
        "at": now_iso(),
        "status": status.value,
        "reason": values.get("reason") or "arrived",
        "by": "workflow",
    }
    return BatchRecord(
        kind=kind.value,
        batch_id=bid,
        status=status.value,
        origin=origin_of(source, upload_prefix).value,
        source=source,
        sources=sources,
        execution_id=execution_id,
        created_at=now_iso(),
        history=[entry],
        **values,
    )


def settle(
    kind: ModelKind,
    deps: Deps,
    dataset_version: str,
    status: BatchStatus,
    reason: str,
    *,
    model_version: str | None = None,
    only: Collection[BatchStatus] = (BatchStatus.PENDING, BatchStatus.MERGED),
) -> list[str]:
    """Move the batches of ``dataset_version`` whose status is in ``only`` to ``status``; their ids."""
    record = deps.registry.dataset(kind, dataset_version)
    if record is None or not record.batches:
        return []
    ids = set(record.batches)
    moved = []
    for batch in deps.registry.batches(kind):
        if batch.batch_id in ids and BatchStatus(batch.status) in only and batch.status != status:
            deps.registry.set_batch_status(kind, batch, status, reason, model_version=model_version)
            moved.append(batch.batch_id)
    return moved


def _registered(
    registry: Registry,
    dataset: DatasetRef,
    values: dict[str, Any],
    current: DatasetRecord | None,
    execution_id: str,
    *,
    merged: Merged,
    split: Waiting,
    included: list[BatchRecord],
) -> Composition:
    """Record the composed version (its batches, sources and lineage) and describe what it holds."""
    parent = current.version if current else None
    registry.put_dataset(
        dataset,
        uploads=[b.source for b in included],
        parent=parent,
        execution_id=execution_id,
        sources=sorted(s for b in included for s in b.sources),
        lineage=values,
    )
    record = DatasetRecord(version=dataset.version, dataset=dataset, parent=parent, **values)
    new = [b for b in included if b.status != BatchStatus.ACCEPTED]
    return Composition(dataset, record, merged, split, included, new)
