"""The registry and its in-memory twin behave the same (so unit tests on the fake speak for the table)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from comprehend_al.models import DatasetRef, ModelKind, ModelStatus
from comprehend_al.store.memory import InMemoryRegistry
from comprehend_al.store.records import ModelRecord
from comprehend_al.store.registry import Registry
from moto import mock_aws

from tests.fakes import create_key_table

KIND = ModelKind.CLASSIFIER


def dataset(version: str, documents: int = 10) -> DatasetRef:
    return DatasetRef(
        kind=KIND,
        version=version,
        train_uri=f"s3://data/datasets/classifier/{version}/train.csv",
        test_uri="s3://data/test/classifier/test.csv",
        test_version="t1",
        documents=documents,
        label_counts={"A": 5, "B": 5},
    )


@pytest.fixture(params=["dynamodb", "memory"])
def registry(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        yield InMemoryRegistry()
        return
    with mock_aws():
        resource = boto3.resource("dynamodb", region_name="us-east-1")
        create_key_table(resource, "registry")
        yield Registry("registry", resource)


def test_a_lock_is_exclusive_reentrant_for_its_holder_and_released_only_by_it(registry: Any) -> None:
    assert registry.acquire_lock(KIND, "run-1", seconds=60)
    assert registry.acquire_lock(KIND, "run-1", seconds=60)  # the same run, again (a retried step)
    assert not registry.acquire_lock(KIND, "run-2", seconds=60)
    registry.release_lock(KIND, "run-2")  # not the holder: nothing happens
    assert registry.lock_holder(KIND) == "run-1"
    registry.release_lock(KIND, "run-1")
    assert registry.lock_holder(KIND) is None
    assert registry.acquire_lock(KIND, "run-2", seconds=60)


def test_an_expired_lock_can_be_taken_by_another_run(registry: Any) -> None:
    assert registry.acquire_lock(KIND, "run-1", seconds=-5)  # already expired
    assert registry.lock_holder(KIND) is None
    assert registry.acquire_lock(KIND, "run-2", seconds=60)


def test_model_records_are_typed_and_updates_merge(registry: Any) -> None:
    registry.put_model(KIND, "v1", status=ModelStatus.TRAINING.value, dataset_version="d1", model_arn=None)
    registry.update_model(KIND, "v1", model_arn="arn:model/version/v1", training_metrics={"F1Score": 0.9})
    registry.set_status(KIND, "v1", ModelStatus.ACTIVE, "first model")
    registry.add_evaluation(KIND, "v1", "t1", {"F1Score": 0.75, "documents": 12})

    record = registry.model(KIND, "v1")
    assert isinstance(record, ModelRecord)
    assert (record.kind, record.version, record.status, record.reason) == (
        "classifier",
        "v1",
        "active",
        "first model",
    )
    assert record.model_arn == "arn:model/version/v1" and record.dataset_version == "d1"
    assert record.training_metrics == {"F1Score": 0.9}
    assert record.evaluations == {"t1": {"F1Score": 0.75, "documents": 12}}
    assert [m.version for m in registry.models(KIND)] == ["v1"]
    assert registry.model(KIND, "v2") is None


def test_an_item_only_ever_updated_still_reads_as_a_record(registry: Any) -> None:
    registry.update_model(KIND, "v9", status=ModelStatus.FAILED.value)
    record = registry.model(KIND, "v9")
    assert record is not None and (record.kind, record.version, record.status) == (
        "classifier",
        "v9",
        "failed",
    )


def test_datasets_keep_every_version_and_point_at_the_latest(registry: Any) -> None:
    assert registry.current_dataset(KIND) is None
    registry.put_dataset(dataset("d1"), uploads=["train/new/a.csv"], parent=None, execution_id="e1")
    registry.put_dataset(dataset("d2", 20), uploads=["train/new/b.csv"], parent="d1", execution_id="e2")
    registry.mark_active_dataset(KIND, "d1")

    current = registry.current_dataset(KIND)
    assert current is not None and (current.version, current.documents) == ("d2", 20)
    records = {d.version: d for d in registry.datasets(KIND)}
    assert set(records) == {"d1", "d2"}
    assert (records["d2"].parent, records["d2"].uploads) == ("d1", ["train/new/b.csv"])
    second = registry.dataset(KIND, "d2")
    assert second is not None and second.dataset.label_counts == {"A": 5, "B": 5}


def test_jobs_are_recorded_and_updated(registry: Any) -> None:
    registry.put_job("job-1", kind="classifier", role="challenger", status="SUBMITTED")
    registry.update_job("job-1", status="COMPLETED", output_uri="s3://data/output/x")
    job = registry.job("job-1")
    assert job is not None and (job.role, job.status, job.output_uri) == (
        "challenger",
        "COMPLETED",
        "s3://data/output/x",
    )


def test_batches_are_typed_listed_in_arrival_order_and_keep_their_history(registry: Any) -> None:
    from comprehend_al.models import BatchStatus
    from comprehend_al.store.records import BatchRecord

    for name, at in (("b2", "2026-01-02T00:00:00Z"), ("b1", "2026-01-01T00:00:00Z")):
        registry.put_batch(
            BatchRecord(
                kind=KIND.value,
                batch_id=name,
                status="pending",
                origin="upload",
                source=f"train/new/{name}.csv",
                rows=3,
                labels={"A": 2, "B": 1},
                created_at=at,
            )
        )
    first = registry.batch(KIND, "b1")
    registry.set_batch_status(KIND, first, BatchStatus.HELD, "challenger lost", model_version="v2")

    assert [b.batch_id for b in registry.batches(KIND)] == ["b1", "b2"]
    held = registry.batch(KIND, "b1")
    assert (held.status, held.reason, held.model_version, held.labels) == (
        "held",
        "challenger lost",
        "v2",
        {"A": 2, "B": 1},
    )
    assert [h["status"] for h in held.history] == ["held"]
    assert registry.batch(KIND, "b3") is None


def test_dataset_lineage_and_rollbacks_are_recorded(registry: Any) -> None:
    from comprehend_al.store.records import RollbackRecord

    lineage = {"batches": ["b1", "b2"], "base": None, "waiting": {"C": 3}, "without": ["b0"]}
    registry.put_dataset(dataset("d1"), uploads=[], parent=None, execution_id="e1", lineage=lineage)
    registry.mark_active_dataset(KIND, "d1")
    registry.put_rollback(RollbackRecord(kind=KIND.value, version="v1", replaced="v2", by="ops", at="t1"))

    record = registry.current_record(KIND)
    assert record is not None and (record.batches, record.waiting, record.without) == (
        ["b1", "b2"],
        {"C": 3},
        ["b0"],
    )
    assert registry.active_dataset_version(KIND) == "d1"
    assert [(r.version, r.replaced, r.by) for r in registry.rollbacks(KIND)] == [("v1", "v2", "ops")]
