"""The retraining policy: reviewed and corrected labels become one training upload.

Rows (one labelled document each) accumulate in the label buffer (:mod:`comprehend_al.store.label_buffer`).
They leave it as ONE CSV upload ``train/new/feedback-<UTC timestamp>-<rows>.csv`` (RFC 4180 via
``to_csv``), which starts the model lifecycle, when

* ``/<prefix>/retrain-batch-size`` rows are pending (checked after every append), or
* the ``FlushLabels`` schedule runs and at least one row is pending.

The schedule also writes the entity documents annotation loops accepted (``annotation/accepted/``) that wait
below ``annotation-batch-size`` as one entity batch (:func:`comprehend_al.annotation.batch.flush_accepted`):
without it, a team that accepted fewer documents than the batch size would wait for a loop that may never
come (:func:`flush_scheduled`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from comprehend_al.annotation.batch import BatchResult, flush_accepted
from comprehend_al.aws.s3 import Bucket
from comprehend_al.aws.ssm import CachedParameters
from comprehend_al.lines import line_settings
from comprehend_al.settings import LoopSettings, Settings
from comprehend_al.store.label_buffer import FlushResult, LabelBuffer, LabelRow
from comprehend_al.traffic import Traffic

BATCH_SIZE_PARAMETER = "retrain-batch-size"
DEFAULT_BATCH_SIZE = 100


# --- the retraining policy ----------------------------------------------------------------------------
@dataclass
class LabelDeps:
    """What buffering and flushing need (built once per cold start by :func:`default_label_deps`)."""

    settings: Settings
    loop: LoopSettings
    buffer: LabelBuffer
    bucket: Bucket
    params: CachedParameters
    traffic: Traffic | None = None  # live accuracy of review answers (the predictions table's counters)

    def batch_size(self) -> int:
        return max(1, self.params.get_int(BATCH_SIZE_PARAMETER, DEFAULT_BATCH_SIZE))


def buffer_rows(rows: list[LabelRow], deps: LabelDeps) -> tuple[int, FlushResult | None]:
    """Append rows; when the batch size is reached, flush them as one upload. (pending, flush or None)."""
    if rows:
        deps.buffer.append(rows)
    pending = deps.buffer.pending_count()
    size = deps.batch_size()
    if pending < size:
        return pending, None
    result = flush_pending(deps, min_rows=size)
    return (pending - result.rows if result.key else pending), result


def flush_pending(deps: LabelDeps, *, min_rows: int = 1) -> FlushResult:
    """Flush whatever is pending (the schedule: at least one row)."""
    return deps.buffer.flush(
        deps.bucket,
        prefix_of=lambda line: line_settings(deps.settings, line).upload_prefix,
        min_rows=min_rows,
        delimiter=deps.settings.label_delimiter,
    )


@dataclass(frozen=True)
class ScheduledFlush:
    """What the ``FlushLabels`` schedule wrote: the label buffer's upload, the accepted documents' batch."""

    labels: FlushResult
    annotations: BatchResult

    def as_dict(self) -> dict[str, Any]:
        return {**self.labels.as_dict(), "annotations": self.annotations.as_dict()}


def flush_scheduled(deps: LabelDeps) -> ScheduledFlush:
    """The schedule: whatever the label buffer holds (≥ 1 row) and whatever accepted entity documents wait
    (≥ 1). Each flush runs even when the other fails (then the first error is raised, for the retry: a flush
    that ran finds nothing left, one that failed kept its rows)."""
    labels: FlushResult | None = None
    annotations: BatchResult | None = None
    errors: list[Exception] = []
    try:
        labels = flush_pending(deps, min_rows=1)
    except Exception as error:  # the other flush still runs; re-raised below
        errors.append(error)
    try:
        annotations = flush_accepted(deps.bucket, prefix=deps.settings.upload_prefix, min_documents=1)
    except Exception as error:
        errors.append(error)
    if errors:
        raise errors[0]
    assert labels is not None and annotations is not None
    return ScheduledFlush(labels, annotations)
