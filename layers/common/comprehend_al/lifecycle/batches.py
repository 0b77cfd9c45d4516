"""ChangeBatch: a user readmits a held batch or drops one, under the kind's lock.

Started like any execution (``{"batch": {"kind", "batch_id", "action": "readmit" | "drop", "by",
"reason"}}``); the execution then goes on as a manual start, so a readmitted batch trains at once.

* ``readmit``: a held (or dropped) batch returns to ``pending``: the next run composes it into a dataset
  version and trains on it; the guard does not test it again (a person vouched for it).
* ``drop``: the batch's rows leave the data: it is ``dropped`` (kept, never trained on) and a new dataset
  version is written without it (versions are immutable: the ones that held it stay as they were).
"""

from __future__ import annotations

from comprehend_al.errors import InvalidRequest, ResourceNotFound, RunInProgress, WorkflowError
from comprehend_al.lifecycle.deps import Deps, stamp, suffix
from comprehend_al.lifecycle.lineage import compose
from comprehend_al.models import BatchStatus
from comprehend_al.observability import logger
from comprehend_al.state import BatchChange, BatchRequest

PAST = {"readmit": "readmitted", "drop": "dropped"}
READMITTABLE = {BatchStatus.HELD, BatchStatus.DROPPED}
DROPPABLE = {BatchStatus.PENDING, BatchStatus.MERGED, BatchStatus.ACCEPTED, BatchStatus.HELD}


def change_batch(request: BatchRequest, execution_id: str, deps: Deps) -> BatchChange:
    kind = request.kind
    batch = deps.registry.batch(kind, request.batch_id)
    if batch is None:
        raise ResourceNotFound(f"{kind.value} batch {request.batch_id!r} is not in the registry")
    status = BatchStatus(batch.status)
    allowed = READMITTABLE if request.action == "readmit" else DROPPABLE
    if status not in allowed:
        raise InvalidRequest(f"batch {batch.batch_id} is {status.value}: it cannot be {PAST[request.action]}")
    if not deps.registry.acquire_lock(kind, execution_id, seconds=deps.settings.lock_seconds):
        raise RunInProgress(
            f"{kind.value}: a run holds the lock ({deps.registry.lock_holder(kind)}); try again"
        )
    why = f"{PAST[request.action]} by {request.by}" + (f": {request.reason}" if request.reason else "")
    dataset = None
    try:
        if request.action == "readmit":
            deps.registry.set_batch_status(
                kind, batch, BatchStatus.PENDING, why, by=request.by, guard={"skipped": why}
            )
        else:
            deps.registry.set_batch_status(kind, batch, BatchStatus.DROPPED, why, by=request.by)
            version = f"d{stamp(deps.clock())}-{suffix(execution_id, batch.batch_id, 'drop')}"
            written = compose(
                kind, deps, version=version, execution_id=execution_id, reason=f"{why} ({batch.batch_id})"
            )
            dataset = written.version if written else None
        change = BatchChange(
            kind=kind,
            batch_id=batch.batch_id,
            action=request.action,
            status=BatchStatus.PENDING.value if request.action == "readmit" else BatchStatus.DROPPED.value,
            dataset=dataset,
        )
        try:
            deps.notifier.publish(
                f"{kind.value}: batch {batch.batch_id} {PAST[request.action]}",
                {
                    **change.model_dump(mode="json"),
                    "outcome": request.action,
                    "by": request.by,
                    "source": batch.source,
                },
            )
        except WorkflowError as error:
            logger.error("notification not sent", extra={"error": str(error)})
    finally:
        deps.registry.release_lock(kind, execution_id)
    logger.info(
        "batch changed", extra={"kind": kind.value, "batch": batch.batch_id, "action": request.action}
    )
    return change
