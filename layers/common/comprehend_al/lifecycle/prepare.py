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
from comprehend_al.models import ModelKind
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
        if not uploads:
            continue
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
    data, settings = deps.data(kind), deps.settings
    current = deps.registry.current_dataset(kind)
    record = deps.registry.dataset(kind, current.version) if current else None
    already_merged = set(record.sources) if record else set()
    rows = data.load(current)
    merged: Merged | None = None
    accepted: list[Upload] = []
    quarantined: list[str] = []
    conflicts: list[dict[str, Any]] = []
    added = dropped = 0
    for upload in _pending_versions(sorted(uploads, key=lambda u: u.name), deps):
        if already_merged.issuperset(upload.sources):
            # merged by an attempt that died before moving it: finish the move, merge nothing twice
            _move_processed(upload, current.version if current else "unknown", deps)
            continue
        try:
            _check_sizes(upload, data, deps)
            new_rows = data.validate(upload)
        except InvalidTrainingData as error:
            _quarantine(upload, error, execution_id, deps)
            quarantined.append(upload.name)
            continue
        merged = data.merge(rows, new_rows)
        rows = merged.data
        added += merged.added
        dropped += merged.duplicates_dropped
        conflicts.extend(merged.conflicts)
        accepted.append(upload)
    count("UploadsQuarantined", kind, len(quarantined))
    count("RowsAdded", kind, added)
    status: dict[str, Any] = {
        "kind": kind.value,
        "quarantined": quarantined,
        "accepted": [u.name for u in accepted],
    }
    if merged is None:
        return None, {**status, "status": "quarantined" if quarantined else "nothing_pending"}
    now = deps.clock()
    version = f"d{stamp(now)}-{suffix(execution_id, str(round_), kind.value)}"
    test = data.test_set()
    merged = Merged(merged.data, merged.documents, merged.label_counts, added, dropped, conflicts)
    dataset = data.write(merged, version, test)
    deps.registry.put_dataset(
        dataset,
        uploads=[u.name for u in accepted],
        parent=current.version if current else None,
        execution_id=execution_id,
        sources=sorted(already_merged.union(*(u.sources for u in accepted))),
    )
    for upload in accepted:  # only now: the data is safely in a dataset version
        _move_processed(upload, version, deps)
    status.update(
        dataset=dataset.version,
        documents=dataset.documents,
        added=added,
        duplicates_dropped=dropped,
        conflicts=conflicts[:50],
    )
    logger.info(
        "dataset version written",
        extra={
            "kind": kind.value,
            "dataset": version,
            "added": added,
            "duplicates_dropped": dropped,
            "conflicts": len(conflicts),
        },
    )
    blocked = _blocked_reasons(data, merged, test)
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


def _blocked_reasons(data: DataKind, merged: Merged, test: TestSet | None) -> list[str]:
    if test is None:
        return [f"no fixed test set: upload it to s3://{data.bucket.name}/{data.test_key} (see README)"]
    return data.trainable(merged) + data.check_test_set(merged, test)


def _quarantine(upload: Upload, error: InvalidTrainingData, execution_id: str, deps: Deps) -> None:
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
