"""The reconciler on the offline stack: what faults leave behind is cleaned up, and said.

Each test makes a leftover the way a fault would (a lock whose execution is gone, an endpoint nothing
points at, an upload no event delivered), runs ``ReconcileFunction`` as its schedule would, and checks
what a user sees afterwards: the lock, the endpoints, the dataset, the notification.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from comprehend_al.models import ModelKind
from comprehend_al.store.registry import Registry

from local import datagen
from local.stack import Offline, running

CLF = ModelKind.CLASSIFIER
GHOST = "arn:aws:states:us-east-1:123456789012:execution:comprehend-al-model-lifecycle:ghost"


@pytest.fixture
def offline(tmp_path: Path) -> Iterator[Offline]:
    with running(tmp_path / "comprehend") as env:
        env.stack.put("test/classifier/test.csv", datagen.to_csv(datagen.generate(150, seed=99)))
        yield env


@pytest.fixture
def notifications(offline: Offline) -> Any:
    """The messages published on the stack's topic (through an SQS subscription)."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="reconcile-notes")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns", region_name="us-east-1").subscribe(
        TopicArn=offline.stack.outputs["NotificationTopicArn"], Protocol="sqs", Endpoint=arn
    )

    def read() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(json.loads(m["Body"])["Message"]) for m in messages]

    return read


def registry(env: Offline) -> Registry:
    return Registry(env.stack.outputs["RegistryTableName"])


def comprehend(env: Offline) -> Any:
    return boto3.client("comprehend", endpoint_url=env.comprehend.url, region_name="us-east-1")


def reconcile(env: Offline, event: dict[str, Any] | None = None) -> dict[str, Any]:
    result, error = env.router.invoke("ReconcileFunction", event or {})
    assert error is None, result
    return dict(result)


def first_model(env: Offline) -> None:
    result = env.stack.upload("train/new/first.csv", datagen.to_csv(datagen.generate(100, seed=1)))
    assert result["status"] == "SUCCEEDED"


def test_a_lock_whose_execution_is_gone_is_released_and_said(offline: Offline, notifications: Any) -> None:
    """Given a classifier lock held by an execution that no longer runs (HandleFailure itself died)
    When the reconciler runs
    Then the lock is free, and a notification names the execution."""
    assert registry(offline).acquire_lock(CLF, GHOST, seconds=25 * 3600)

    report = reconcile(offline)

    assert report["locks_released"] == [f"classifier: {GHOST}"]
    assert registry(offline).lock_holder(CLF) is None
    [note] = notifications()
    assert note["outcome"] == "reconciled" and note["locks_released"] == [f"classifier: {GHOST}"]


def test_an_endpoint_nothing_points_at_is_deleted_and_the_active_one_kept(offline: Offline) -> None:
    """Given an active classifier, and a second endpoint for the same model left by a failed delete
    When the reconciler runs
    Then only the leftover endpoint is deleted; the pointer's endpoint keeps serving."""
    first_model(offline)
    active = offline.stack.active(CLF)
    orphan = comprehend(offline).create_endpoint(
        EndpointName="comprehend-al-clf-orphan", ModelArn=active.model_arn, DesiredInferenceUnits=1
    )["EndpointArn"]

    report = reconcile(offline)

    assert report["endpoints_deleted"] == [orphan]
    listed = {
        e["EndpointArn"]: e["Status"] for e in comprehend(offline).list_endpoints()["EndpointPropertiesList"]
    }
    assert active.endpoint_arn in listed and listed.get(orphan, "DELETING") == "DELETING"
    assert reconcile(offline)["endpoints_deleted"] == []  # idempotent: nothing more to do


def test_an_upload_no_event_delivered_is_merged_by_an_execution_the_reconciler_starts(
    offline: Offline,
) -> None:
    """Given an upload under train/new/ whose event never reached the state machine (or arrived in the
    last allowed round), and no execution running
    When the reconciler runs
    Then it starts an execution, which merges the upload and trains a model."""
    offline.stack.put("train/new/late.csv", datagen.to_csv(datagen.generate(100, seed=2)))

    report = reconcile(offline)

    [execution] = report["executions_started"]
    assert offline.stack.wait(execution)["status"] == "SUCCEEDED"
    current = registry(offline).current_dataset(CLF)
    assert current is not None and current.documents == 100
    assert offline.stack.active(CLF).serving


def test_nothing_to_do_sends_nothing(offline: Offline, notifications: Any) -> None:
    """Given a healthy stack, the reconciler changes nothing and stays quiet."""
    first_model(offline)
    report = reconcile(offline)
    assert not any(
        report[k] for k in ("locks_released", "endpoints_deleted", "executions_started", "problems")
    )
    assert [n for n in notifications() if n.get("outcome") == "reconciled"] == []


def test_an_execution_that_ended_badly_is_reported_with_its_cause(
    offline: Offline, notifications: Any
) -> None:
    """Given an execution that failed (a training that ended IN_ERROR)
    When its status-change event reaches the reconciler
    Then the notification names the execution, its status and its cause."""
    first_model(offline)
    notifications()  # drain the first model's notes
    offline.comprehend.faults.fail_next_training("Injected: not enough documents")
    failed = offline.stack.upload("train/new/second.csv", datagen.to_csv(datagen.generate(120, seed=3)))
    assert failed["status"] == "FAILED"
    event = {
        "detail-type": "Step Functions Execution Status Change",
        "detail": {"executionArn": failed["executionArn"]},
    }

    report = reconcile(offline, event)

    assert report["execution"]["status"] == "FAILED" and report["execution"]["error"] == "RunFailed"
    notes = [n for n in notifications() if n.get("stage") == "execution"]
    assert notes and notes[0]["outcome"] == "failed" and notes[0]["execution"]["status"] == "FAILED"
    assert notes[0]["reason"].startswith("execution FAILED: RunFailed")
    assert registry(offline).lock_holder(CLF) is None
