"""PrepareTrainingData: validate and merge pending uploads into new dataset versions, one run per kind."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from comprehend_al.aws.s3 import ObjectInfo
from comprehend_al.errors import (
    InvalidRequest,
    InvalidTrainingData,
    Problem,
    ResourceNotFound,
)
from comprehend_al.kinds import DataKind, Merged, TestSet, Upload
from comprehend_al.lifecycle.deps import (
    Deps,
    count,
    stamp,
    suffix,
)
from comprehend_al.lifecycle.lineage import batch_id, compose, new_batch
from comprehend_al.models import BatchStatus, ModelKind
from comprehend_al.observability import logger
from comprehend_al.settings import Settings
from comprehend_al.state import (
    PrepareResult,
    Run,
)


def prepare_training_data(
    event: dict[str, Any], execution_id: str, deps: Deps, *, round_: int = 0
) -> PrepareResult:
    """Validate and merge every pending upload into new dataset versions; one run per kind to train.

    Pending uploads are everything under ``train/new/``, not just the object in the event: a run takes
    all that arrived since the last one, and a duplicate delivery of the same event finds nothing left.
    Runs of one kind are serialized by a lock held until FinishRun / HandleFailure releases it.
    """
    _check_event(event, deps.settings)
    settings, result = deps.settings, PrepareResult()
    pending = [i for i in deps.bucket.list(settings.upload_prefix) if not i.key.endswith("/")]
    claimed: dict[ModelKind, list[Upload]] = {}
    rest: list[ObjectInfo] = pending
    for kind, data in deps.kinds.items():
        claimed[kind], rest = data.claim(rest)
    for info in rest:
        if posixpath.basename(info.key) not in {"documents.txt", "annotations.csv"}:
            try:
                _quarantine_unknown(info, execution_id, deps)
            except ResourceNotFound:  # another execution quarantined it first
                continue
    for kind, uploads in claimed.items():
        if not uploads and not any(b.status == BatchStatus.PENDING for b in deps.registry.batches(kind)):
            continue  # nothing arrived, nothing readmitted
        if not deps.registry.acquire_lock(kind, execution_id, seconds=settings.lock_seconds):
            holder = deps.registry.lock_holder(kind)
            logger.info("run in progress: uploads stay pending", extra={"kind": kind.value, "holder": holder})
            result.outcomes.append(
                {"kind": kind.value, "status": "skipped", "reason": f"run in progress: {holder}"}
            )
            continue
        try:
            # under the lock, look again: a run that held it may have merged some of them meanwhile
            uploads, _ = deps.data(kind).claim(list(deps.bucket.list(settings.upload_prefix)))
            run, outcome = _prepare_kind(kind, uploads, execution_id, round_, deps)
        except Exception:
            deps.registry.release_lock(kind, execution_id)
            raise
        result.outcomes.append(outcome)
        if run is None:
            deps.registry.release_lock(kind, execution_id)
        else:
            result.runs.append(run)
    return result


def _check_event(event: dict[str, Any], settings: Settings) -> None:
    if not event or "detail" not in event:
        return  # a manual start ({}): drain whatever is pending
    bucket = event.get("detail", {}).get("bucket", {}).get("name")
    if bucket and bucket != settings.data_bucket:
        raise InvalidRequest(f"event for bucket {bucket!r}, expected {settings.data_bucket!r}")


def _prepare_kind(
    kind: ModelKind, uploads: list[Upload], execution_id: str, round_: int, deps: Deps
) -> tuple[Run | None, dict[str, Any]]:
    """Each upload becomes a batch (or a quarantined one); then the batches that train are composed into
    a new dataset version, and a run is returned if it can be trained."""
    data, settings = deps.data(kind), deps.settings
    known = {b.batch_id: b for b in deps.registry.batches(kind)}
    accepted: list[Upload] = []
    quarantined: list[str] = []
    warnings: list[str] = []

    def record(upload: Upload, bid: str, status: BatchStatus, **details: Any) -> None:
        """Register the upload as a batch (what every batch of this execution shares, plus ``details``)."""
        batch = new_batch(
            kind,
            bid=bid,
            status=status,
            source=upload.name,
            sources=upload.sources,
            upload_prefix=settings.upload_prefix,
            execution_id=execution_id,
            **details,
        )
        deps.registry.put_batch(batch)

    for upload in _pending_versions(sorted(uploads, key=lambda u: u.name), deps):
        bid = batch_id(kind, upload.sources)
        if bid in known:
            # registered by an attempt that died before moving it: finish the move, register nothing twice
            accepted.append(upload)
            continue
        try:
            _check_sizes(upload, data, deps)
            validated = data.validate(upload)
        except InvalidTrainingData as error:
            report = _quarantine(upload, error, execution_id, deps)
            reason = f"{len(error.problems)} problem(s): {error.problems[0]}"[:500]
            record(upload, bid, BatchStatus.QUARANTINED, report_uri=report, reason=reason)
            quarantined.append(upload.name)
            continue
        labels = data.merge(data.empty(), validated.data)
        record(
            upload,
            bid,
            BatchStatus.PENDING,
            rows=labels.documents,
            labels=labels.label_counts,
            data_uri=data.write_batch(bid, validated.data),
            warnings=validated.warnings[:20],
        )
        warnings.extend(f"{upload.name}: {w}" for w in validated.warnings)
        accepted.append(upload)
    count("UploadsQuarantined", kind, len(quarantined))
    status: dict[str, Any] = {
        "kind": kind.value,
        "quarantined": quarantined,
        "accepted": [u.name for u in accepted],
    }
    if warnings:
        status["warnings"] = warnings[:20]
    pending = [b for b in deps.registry.batches(kind) if b.status == BatchStatus.PENDING]
    if not pending:
        for upload in accepted:
            _move_processed(upload, "registered", deps)
        return None, {**status, "status": "quarantined" if quarantined else "nothing_pending"}
    now = deps.clock()
    version = f"d{stamp(now)}-{suffix(execution_id, str(round_), kind.value)}"
    composition = compose(kind, deps, version=version, execution_id=execution_id, reason="merge")
    assert composition is not None  # pending batches exist
    dataset, merged = composition.dataset, composition.merged
    for batch in pending:
        deps.registry.set_batch_status(
            kind, batch, BatchStatus.MERGED, f"merged into {version}", dataset_version=version
        )
    for upload in accepted:  # only now: the data is safely in a batch and a dataset version
        _move_processed(upload, version, deps)
    count("RowsAdded", kind, merged.added)
    status.update(
        dataset=dataset.version,
        documents=dataset.documents,
        added=merged.added,
        duplicates_dropped=merged.duplicates_dropped,
        conflicts=merged.conflicts[:50],
        batches=[b.batch_id for b in pending],
    )
    if composition.split.notes:
        status["waiting"] = composition.split.notes
    if composition.split.unknown_test_labels:
        status["test_labels_not_trained"] = composition.split.unknown_test_labels
    logger.info(
        "dataset version written",
        extra={
            "kind": kind.value,
            "dataset": version,
            "added": merged.added,
            "duplicates_dropped": merged.duplicates_dropped,
            "conflicts": len(merged.conflicts),
            "waiting": len(composition.split.waiting),
        },
    )
    blocked = blocked_reasons(data, composition.split.trainable, data.test_set())
    if blocked:
        deps.notifier.publish(
            f"{kind.value}: data merged, not trained", {**status, "outcome": "waiting", "reasons": blocked}
        )
        return None, {**status, "status": "waiting", "reasons": blocked}
    model_version = f"v{stamp(now)}-{suffix(execution_id, str(round_), kind.value, 'model')}"
    run = Run(
        kind=kind,
        version=model_version,
        model_name=settings.model_name(kind),
        dataset=dataset,
        execution_id=execution_id,
    )
    return run, {**status, "status": "training", "version": model_version}


def blocked_reasons(data: DataKind, merged: Merged, test: TestSet | None) -> list[str]:
    if test is None:
        return [f"no fixed test set: upload it to s3://{data.bucket.name}/{data.test_key} (see README)"]
    return data.trainable(merged) + data.check_test_set(merged, test)


def _quarantine(upload: Upload, error: InvalidTrainingData, execution_id: str, deps: Deps) -> str:
    settings = deps.settings
    folder = f"{settings.quarantine_prefix}{stamp(deps.clock())}-{upload.fingerprint}/"
    report = {
        "upload": upload.name,
        "execution_id": execution_id,
        "problems": [
            {"file": p.file, "line": p.line, "field": p.field, "reason": p.reason} for p in error.problems
        ],
    }
    for key in upload.keys:
        deps.bucket.move(key, folder + key[len(settings.upload_prefix) :], version_id=upload.version_of(key))
    deps.bucket.put(
        folder + "report.json", json.dumps(report, indent=2).encode(), content_type="application/json"
    )
    logger.warning("upload quarantined", extra={"upload": upload.name, "problems": len(error.problems)})
    deps.notifier.publish(
        f"{upload.kind.value}: upload quarantined",
        {
            "outcome": "quarantined",
            "kind": upload.kind.value,
            "report": deps.bucket.uri(folder + "report.json"),
            "problems": [str(p) for p in error.problems[:20]],
        },
    )
    return deps.bucket.uri(folder + "report.json")


def _quarantine_unknown(info: ObjectInfo, execution_id: str, deps: Deps) -> None:
    upload = Upload(ModelKind.CLASSIFIER, info.key, (info.key,), (info.etag,))
    problem = Problem(
        info.key,
        0,
        "file",
        "not a training file: expected LABEL,text .csv or documents.txt + annotations.csv",
    )
    _quarantine(upload, InvalidTrainingData([problem]), execution_id, deps)


def _pending_versions(uploads: list[Upload], deps: Deps) -> Iterator[Upload]:
    """Each upload pinned to the object versions it reads: exactly these are merged and moved.

    A one-file upload overwritten before its run yields every version still under ``train/new/``,
    oldest first, so each is merged once and a newer label wins as it would have in arrival order. A
    folder upload pins its files' current versions (a newer one stays for the next round)."""
    for upload in uploads:
        if len(upload.keys) == 1:
            for info in deps.bucket.versions(upload.keys[0]) or []:
                yield _pinned(upload, [info])
            continue
        infos = [deps.bucket.head(key) for key in upload.keys]
        if all(info is not None for info in infos):  # else gone meanwhile (another execution took it)
            yield _pinned(upload, [info for info in infos if info])


def _pinned(upload: Upload, infos: list[ObjectInfo]) -> Upload:
    versions = tuple(i.version_id if i.version_id not in (None, "null") else None for i in infos)
    sizes = {i.key: i.size for i in infos}
    return replace(upload, versions=versions, etags=tuple(i.etag for i in infos), sizes=sizes)


def _check_sizes(upload: Upload, data: DataKind, deps: Deps) -> None:
    """Refuse an oversized object from its size alone: nothing over the limit is read into memory."""
    problems = [
        Problem(key, 0, "file", f"the file is {size} bytes; the limit is {data.max_upload_bytes}")
        for key, size in upload.sizes.items()
        if size > data.max_upload_bytes
    ]
    if problems:
        raise InvalidTrainingData(problems)


def _move_processed(upload: Upload, version: str, deps: Deps) -> None:
    prefix = deps.settings.upload_prefix
    for key in upload.keys:
        target = f"{deps.settings.processed_prefix}{version}/{key[len(prefix) :]}"
        deps.bucket.move(key, target, version_id=upload.version_of(key))
