"""The reconciler's decisions, unit-tested on the in-memory registry (no DynamoDB) and a fake Comprehend.

What runs is decided by the state machine's executions (a fake here): a lock, a training or an endpoint
that a running execution accounts for is kept; one that nothing accounts for is cleaned up.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from comprehend_al.aws.comprehend import ComprehendClient
from comprehend_al.aws.s3 import Bucket
from comprehend_al.aws.sns import Notifier
from comprehend_al.aws.stepfunctions import Execution
from comprehend_al.lifecycle import Deps, reconcile
from comprehend_al.models import ModelKind, ModelStatus
from comprehend_al.pointers import Active
from comprehend_al.settings import Settings
from comprehend_al.store.memory import InMemoryRegistry
from moto import mock_aws

from tests.fakes import FakeComprehend

CLF = ModelKind.CLASSIFIER
PREFIX = "arn:aws:states:us-east-1:123456789012:execution:comprehend-al-model-lifecycle"


class FakeExecutions:
    def __init__(self, running: set[str]) -> None:
        self.running_now = running
        self.started: list[dict[str, Any]] = []

    def running(self) -> set[str]:
        return set(self.running_now)

    def describe(self, arn: str) -> Execution:
        return Execution(arn, "RUNNING" if arn in self.running_now else "FAILED", "States.Runtime", "")

    def start(self, payload: dict[str, Any], *, prefix: str = "reconcile") -> str:
        self.started.append(payload)
        return f"{PREFIX}:{prefix}-{len(self.started)}"


class MemoryParameters:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def put(self, name: str, value: str, *, description: str = "") -> None:
        self.values[name] = value


@pytest.fixture
def deps() -> Iterator[Deps]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="data")
        settings = Settings.model_validate(
            {"DATA_BUCKET": "data", "REGISTRY_TABLE": "r", "PARAMETER_PREFIX": "/p"}
        )
        yield Deps(
            settings=settings,
            bucket=Bucket("data", s3),
            registry=InMemoryRegistry(),  # type: ignore[arg-type]
            params=MemoryParameters(),  # type: ignore[arg-type]
            comprehend=ComprehendClient(FakeComprehend(s3)),
            notifier=Notifier(""),
            executions=FakeExecutions(set()),  # type: ignore[arg-type]
        )


def fake(deps: Deps) -> FakeComprehend:
    return deps.comprehend.client  # type: ignore[no-any-return]


def test_a_running_executions_lock_training_and_endpoint_are_kept(deps: Deps) -> None:
    """Given a run in flight (its lock, its training version, the endpoint it is creating)
    When the reconciler runs
    Then it touches none of them."""
    run = f"{PREFIX}:live"
    deps.executions.running_now.add(run)  # type: ignore[union-attr]
    deps.registry.acquire_lock(CLF, run, seconds=3600)
    deps.registry.put_model(CLF, "v2", status=ModelStatus.TRAINED.value, execution_id=run)
    model = fake(deps).classifier_arn("comprehend-al-classifier", "v2")
    fake(deps).add_classifier(model)
    fake(deps).add_endpoint(fake(deps).endpoint_arn("comprehend-al-clf-2"), model)

    report = reconcile({}, deps)

    assert not (report.locks_released or report.versions_failed or report.endpoints_deleted)
    assert deps.registry.lock_holder(CLF) == run


def test_a_dead_runs_lock_version_and_endpoint_are_cleaned_up(deps: Deps) -> None:
    """Given a run whose execution ended without HandleFailure (stopped), an active model elsewhere
    When the reconciler runs
    Then the lock is released, the undecided version failed, its endpoint deleted, the active one kept."""
    dead = f"{PREFIX}:stopped"
    deps.registry.acquire_lock(CLF, dead, seconds=3600)
    deps.registry.put_model(CLF, "v2", status=ModelStatus.TRAINED.value, execution_id=dead)
    active_model = fake(deps).classifier_arn("comprehend-al-classifier", "v1")
    new_model = fake(deps).classifier_arn("comprehend-al-classifier", "v2")
    for arn in (active_model, new_model):
        fake(deps).add_classifier(arn)
    active = fake(deps).endpoint_arn("comprehend-al-clf-1")
    leftover = fake(deps).endpoint_arn("comprehend-al-clf-2")
    fake(deps).add_endpoint(active, active_model)
    fake(deps).add_endpoint(leftover, new_model)
    deps.pointers.promote(CLF, Active(active_model, active), description="v1")

    report = reconcile({}, deps)

    assert report.locks_released == [f"classifier: {dead}"] and deps.registry.lock_holder(CLF) is None
    assert report.versions_failed == ["classifier/v2"]
    record = deps.registry.model(CLF, "v2")
    assert record is not None and record.status == "failed"
    assert report.endpoints_deleted == [leftover]
    assert set(fake(deps).endpoints) == {active}


def test_waiting_uploads_start_an_execution_only_when_none_runs(deps: Deps) -> None:
    deps.bucket.put("train/new/late.csv", b"BILLING,charged twice\n")
    assert len(reconcile({}, deps).executions_started) == 1
    deps.executions.running_now.add(f"{PREFIX}:busy")  # type: ignore[union-attr]
    assert reconcile({}, deps).executions_started == []
