"""The model registry (DynamoDB, one table): model versions, dataset versions, locks, job bookkeeping.

Keys (``pk``, ``sk``):
- ``MODEL#<kind>`` / ``<version>``: one item per model version (ARN, dataset, evaluations, status, endpoint)
- ``DATASET#<kind>`` / ``<version>``: one item per immutable dataset version; ``CURRENT`` points at the latest
- ``BATCH#<kind>`` / ``<batch id>``: one item per batch of labelled data (upload, feedback or review flush)
- ``ROLLBACK#<kind>`` / ``<time>``: one item per rollback (who, why, what it replaced)
- ``LOCK#<kind>`` / ``LOCK``: serializes runs of one model kind (with an expiry)
- ``JOB#<job id>`` / ``JOB``: test-job bookkeeping

Reads return typed records (:mod:`comprehend_al.store.records`); writes take typed changes. What the
registry means is written once, in :class:`RegistryBase`, over five storage primitives; :class:`Registry`
implements them on DynamoDB and :class:`~comprehend_al.store.memory.InMemoryRegistry` in memory.
"""

from __future__ import annotations

import time
from typing import Any, Unpack

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from comprehend_al.aws.errors import aws_call, translate
from comprehend_al.errors import ResourceNotFound
from comprehend_al.models import BatchStatus, DatasetRef, ModelKind, ModelStatus
from comprehend_al.store.dynamo import from_dynamo, is_conditional, now_iso, table, to_dynamo
from comprehend_al.store.records import (
    BatchChanges,
    BatchRecord,
    DatasetRecord,
    JobChanges,
    JobRecord,
    ModelChanges,
    ModelRecord,
    RollbackRecord,
)

POINTERS = {"CURRENT", "ACTIVE"}  # sort keys of DATASET#<kind> that point at a version


class RegistryBase:
    """The registry's meaning; subclasses store items and hold locks."""

    # --- storage primitives --------------------------------------------------------------------------
    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def _put(self, pk: str, sk: str, values: dict[str, Any]) -> None:
        raise NotImplementedError

    def _update(self, pk: str, sk: str, values: dict[str, Any]) -> None:
        """Set ``values`` (and ``updated_at``) on the item, creating it if needed."""
        raise NotImplementedError

    def _query(self, pk: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    # --- locks ---------------------------------------------------------------------------------------
    def acquire_lock(self, kind: ModelKind, holder: str, *, seconds: int) -> bool:
        """Take the lock of ``kind`` for ``holder``; ``False`` when another live holder has it."""
        raise NotImplementedError

    def release_lock(self, kind: ModelKind, holder: str) -> None:
        """Release the lock if ``holder`` holds it (anyone else's release does nothing)."""
        raise NotImplementedError

    def lock_holder(self, kind: ModelKind) -> str | None:
        item = self._get(f"LOCK#{kind.value}", "LOCK")
        return str(item["holder"]) if item and int(item["expires_at"]) >= self._now() else None

    def _now(self) -> float:
        return time.time()

    # --- datasets ------------------------------------------------------------------------------------
    def current_dataset(self, kind: ModelKind) -> DatasetRef | None:
        record = self.current_record(kind)
        return record.dataset if record else None

    def dataset(self, kind: ModelKind, version: str) -> DatasetRecord | None:
        item = self._get(f"DATASET#{kind.value}", version)
        return DatasetRecord.from_item(item) if item else None

    def put_dataset(
        self,
        dataset: DatasetRef,
        *,
        uploads: list[str],
        parent: str | None,
        execution_id: str,
        sources: list[str] | None = None,
        lineage: dict[str, Any] | None = None,
    ) -> None:
        """Record a new dataset version and make it current (all accepted data, whatever the model does).

        ``lineage``: ``batches`` (ids in merge order), ``base``, ``lineage_uri``, ``waiting``, ``without``,
        ``reason`` (see :class:`DatasetRecord`)."""
        kind = dataset.kind.value
        values = {
            "dataset": dataset.model_dump(mode="json"),
            "uploads": uploads,
            "sources": sources or [],
            "parent": parent,
            "execution_id": execution_id,
            "created_at": now_iso(),
            **(lineage or {}),
        }
        self._put(f"DATASET#{kind}", dataset.version, values)
        self._update(f"DATASET#{kind}", "CURRENT", {"version": dataset.version})

    def current_record(self, kind: ModelKind) -> DatasetRecord | None:
        pointer = self._get(f"DATASET#{kind.value}", "CURRENT")
        return self.dataset(kind, str(pointer["version"])) if pointer else None

    def active_dataset_version(self, kind: ModelKind) -> str | None:
        pointer = self._get(f"DATASET#{kind.value}", "ACTIVE")
        return str(pointer["version"]) if pointer else None

    def mark_active_dataset(self, kind: ModelKind, version: str) -> None:
        """The dataset version the active model was trained on (``CURRENT`` may be newer)."""
        self._update(f"DATASET#{kind.value}", "ACTIVE", {"version": version})

    def datasets(self, kind: ModelKind) -> list[DatasetRecord]:
        items = self._query(f"DATASET#{kind.value}")
        return [DatasetRecord.from_item(i) for i in items if i["sk"] not in POINTERS]

    # --- batches -------------------------------------------------------------------------------------
    def put_batch(self, record: BatchRecord) -> None:
        values = record.model_dump(mode="json", exclude={"kind", "batch_id"})
        self._put(f"BATCH#{record.kind}", record.batch_id, values)

    def batch(self, kind: ModelKind, batch_id: str) -> BatchRecord | None:
        item = self._get(f"BATCH#{kind.value}", batch_id)
        return BatchRecord.from_item(item) if item else None

    def batches(self, kind: ModelKind) -> list[BatchRecord]:
        """Every batch of ``kind`` in arrival order (the order their rows are merged in)."""
        records = [BatchRecord.from_item(i) for i in self._query(f"BATCH#{kind.value}")]
        return sorted(records, key=lambda b: (b.created_at, b.batch_id))

    def update_batch(self, kind: ModelKind, batch_id: str, **values: Unpack[BatchChanges]) -> None:
        self._update(f"BATCH#{kind.value}", batch_id, dict(values))

    def set_batch_status(
        self,
        kind: ModelKind,
        batch: BatchRecord,
        status: BatchStatus,
        reason: str,
        *,
        by: str = "workflow",
        dataset_version: str | None = None,
        model_version: str | None = None,
        guard: dict[str, Any] | None = None,
        report_uri: str | None = None,
    ) -> None:
        """Move a batch to ``status``, with the reason (and who) appended to its history."""
        entry = {"at": now_iso(), "status": status.value, "reason": reason[:500], "by": by}
        changes: BatchChanges = {
            "status": status.value,
            "reason": reason[:2000],
            "history": [*batch.history, entry][-50:],
        }
        if dataset_version:
            changes["dataset_version"] = dataset_version
        if model_version:
            changes["model_version"] = model_version
        if guard is not None:
            changes["guard"] = guard
        if report_uri:
            changes["report_uri"] = report_uri
        self.update_batch(kind, batch.batch_id, **changes)

    # --- rollbacks -----------------------------------------------------------------------------------
    def put_rollback(self, record: RollbackRecord) -> None:
        self._put(f"ROLLBACK#{record.kind}", record.at, record.model_dump(mode="json"))

    def rollbacks(self, kind: ModelKind) -> list[RollbackRecord]:
        return [RollbackRecord.model_validate(i) for i in self._query(f"ROLLBACK#{kind.value}")]

    # --- model versions ------------------------------------------------------------------------------
    def put_model(self, kind: ModelKind, version: str, **values: Unpack[ModelChanges]) -> None:
        now = now_iso()
        base = {"kind": kind.value, "version": version, "created_at": now, "updated_at": now}
        self._put(f"MODEL#{kind.value}", version, {**base, **values})

    def update_model(self, kind: ModelKind, version: str, **values: Unpack[ModelChanges]) -> None:
        self._update(f"MODEL#{kind.value}", version, dict(values))

    def set_status(self, kind: ModelKind, version: str, status: ModelStatus, reason: str = "") -> None:
        values: ModelChanges = {"status": status.value}
        if reason:
            values["reason"] = reason[:2000]
        self.update_model(kind, version, **values)

    def model(self, kind: ModelKind, version: str) -> ModelRecord | None:
        item = self._get(f"MODEL#{kind.value}", version)
        return ModelRecord.from_item(item) if item else None

    def models(self, kind: ModelKind) -> list[ModelRecord]:
        items = sorted(self._query(f"MODEL#{kind.value}"), key=lambda m: str(m.get("created_at", "")))
        return [ModelRecord.from_item(i) for i in items]

    def add_evaluation(
        self, kind: ModelKind, version: str, test_version: str, metrics: dict[str, Any]
    ) -> None:
        model = self.model(kind, version)
        if model is None:
            raise ResourceNotFound(f"model version {kind.value}/{version} is not in the registry")
        self.update_model(kind, version, evaluations={**model.evaluations, test_version: metrics})

    # --- jobs ----------------------------------------------------------------------------------------
    def put_job(self, job_id: str, **values: Unpack[JobChanges]) -> None:
        self._put(f"JOB#{job_id}", "JOB", {"job_id": job_id, "created_at": now_iso(), **values})

    def update_job(self, job_id: str, **values: Unpack[JobChanges]) -> None:
        self._update(f"JOB#{job_id}", "JOB", dict(values))

    def job(self, job_id: str) -> JobRecord | None:
        item = self._get(f"JOB#{job_id}", "JOB")
        return JobRecord.model_validate(item) if item else None


class Registry(RegistryBase):
    """The registry on its DynamoDB table."""

    def __init__(self, table_name: str, resource: Any | None = None) -> None:
        self.table = table(table_name, resource)

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        with aws_call(f"GetItem {pk}/{sk}"):
            item = self.table.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")
        return from_dynamo(item) if item else None

    def _put(self, pk: str, sk: str, values: dict[str, Any]) -> None:
        with aws_call(f"PutItem {pk}/{sk}"):
            self.table.put_item(Item=to_dynamo({"pk": pk, "sk": sk, **values}))

    def _update(self, pk: str, sk: str, values: dict[str, Any]) -> None:
        values = {**values, "updated_at": now_iso()}
        names = {f"#{i}": k for i, k in enumerate(values)}
        expr = "SET " + ", ".join(f"#{i} = :{i}" for i in range(len(values)))
        attr_values = {f":{i}": to_dynamo(v) for i, v in enumerate(values.values())}
        with aws_call(f"UpdateItem {pk}/{sk}"):
            self.table.update_item(
                Key={"pk": pk, "sk": sk},
                UpdateExpression=expr,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=attr_values,
            )

    def _query(self, pk: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(pk), "ConsistentRead": True}
        with aws_call(f"Query {pk}"):
            while True:
                page = self.table.query(**kwargs)
                items.extend(from_dynamo(i) for i in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    return items
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def acquire_lock(self, kind: ModelKind, holder: str, *, seconds: int) -> bool:
        now = int(time.time())
        try:
            self.table.put_item(
                Item={
                    "pk": f"LOCK#{kind.value}",
                    "sk": "LOCK",
                    "holder": holder,
                    "expires_at": now + seconds,
                    "acquired_at": now_iso(),
                },
                ConditionExpression=Attr("pk").not_exists()
                | Attr("expires_at").lt(now)
                | Attr("holder").eq(holder),
            )
        except ClientError as error:
            if is_conditional(error):
                return False
            raise translate(error, "acquire lock") from error
        return True

    def release_lock(self, kind: ModelKind, holder: str) -> None:
        try:
            self.table.delete_item(
                Key={"pk": f"LOCK#{kind.value}", "sk": "LOCK"}, ConditionExpression=Attr("holder").eq(holder)
            )
        except ClientError as error:
            if not is_conditional(error):
                raise translate(error, "release lock") from error
