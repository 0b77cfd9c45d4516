"""An in-memory registry with the behaviour of :class:`~comprehend_al.store.registry.Registry`.

For unit tests of logic that reads and writes the registry (reconciliation, lineage, rollback) without
moto: same methods, same records, same lock semantics (expiry, re-entrant for its holder). A contract
test runs the same scenarios against both, so the fake cannot drift from the real table.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Unpack

from comprehend_al.errors import ResourceNotFound
from comprehend_al.models import DatasetRef, ModelKind, ModelStatus
from comprehend_al.store.dynamo import from_dynamo, now_iso, to_dynamo
from comprehend_al.store.records import DatasetRecord, JobChanges, JobRecord, ModelChanges, ModelRecord


class InMemoryRegistry:
    def __init__(self, clock: Any = time.time) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.clock = clock

    def _put(self, pk: str, sk: str, values: dict[str, Any]) -> None:
        self.items[(pk, sk)] = from_dynamo(to_dynamo({"pk": pk, "sk": sk, **values}))

    def _update(self, pk: str, sk: str, values: dict[str, Any]) -> None:
        item = self.items.setdefault((pk, sk), {"pk": pk, "sk": sk})
        item.update(from_dynamo(to_dynamo({**values, "updated_at": now_iso()})))

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self.items.get((pk, sk))
        return copy.deepcopy(item) if item else None

    def _query(self, pk: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(v) for (p, _), v in sorted(self.items.items()) if p == pk]

    # --- locks ---
    def acquire_lock(self, kind: ModelKind, holder: str, *, seconds: int) -> bool:
        now = int(self.clock())
        current = self.items.get((f"LOCK#{kind.value}", "LOCK"))
        if current and current["expires_at"] >= now and current["holder"] != holder:
            return False
        values = {"holder": holder, "expires_at": now + seconds, "acquired_at": now_iso()}
        self._put(f"LOCK#{kind.value}", "LOCK", values)
        return True

    def release_lock(self, kind: ModelKind, holder: str) -> None:
        current = self.items.get((f"LOCK#{kind.value}", "LOCK"))
        if current and current["holder"] == holder:
            del self.items[(f"LOCK#{kind.value}", "LOCK")]

    def lock_holder(self, kind: ModelKind) -> str | None:
        item = self.items.get((f"LOCK#{kind.value}", "LOCK"))
        return str(item["holder"]) if item and int(item["expires_at"]) >= self.clock() else None

    # --- datasets ---
    def current_dataset(self, kind: ModelKind) -> DatasetRef | None:
        pointer = self._get(f"DATASET#{kind.value}", "CURRENT")
        record = self.dataset(kind, str(pointer["version"])) if pointer else None
        return record.dataset if record else None

    def dataset(self, kind: ModelKind, version: str) -> DatasetRecord | None:
        item = self._get(f"DATASET#{kind.value}", version)
        return DatasetRecord.from_item(item) if item else None

    def put_dataset(
        self, dataset: DatasetRef, *, uploads: list[str], parent: str | None, execution_id: str
    ) -> None:
        kind = dataset.kind.value
        values = {
            "dataset": dataset.model_dump(mode="json"),
            "uploads": uploads,
            "parent": parent,
            "execution_id": execution_id,
            "created_at": now_iso(),
        }
        self._put(f"DATASET#{kind}", dataset.version, values)
        self._update(f"DATASET#{kind}", "CURRENT", {"version": dataset.version})

    def mark_active_dataset(self, kind: ModelKind, version: str) -> None:
        self._update(f"DATASET#{kind.value}", "ACTIVE", {"version": version})

    def datasets(self, kind: ModelKind) -> list[DatasetRecord]:
        items = self._query(f"DATASET#{kind.value}")
        return [DatasetRecord.from_item(i) for i in items if i["sk"] not in {"CURRENT", "ACTIVE"}]

    # --- model versions ---
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

    # --- jobs ---
    def put_job(self, job_id: str, **values: Unpack[JobChanges]) -> None:
        self._put(f"JOB#{job_id}", "JOB", {"job_id": job_id, "created_at": now_iso(), **values})

    def update_job(self, job_id: str, **values: Unpack[JobChanges]) -> None:
        self._update(f"JOB#{job_id}", "JOB", dict(values))

    def job(self, job_id: str) -> JobRecord | None:
        item = self._get(f"JOB#{job_id}", "JOB")
        return JobRecord.model_validate(item) if item else None
