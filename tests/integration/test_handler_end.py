"""FinishRun and HandleFailure: a run ends recorded, notified, unlocked, and with nothing left running."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from comprehend_al.models import ModelKind

from tests.fakes import ACCOUNT

if TYPE_CHECKING:
    from tests.integration.conftest import Stack

VERSION = "v20261123-120501-ab12cd"  # the run of the sample events
OLD_VERSION = "v20261101-093012-9e8f7a"
MODELS = f"arn:aws:comprehend:us-east-1:{ACCOUNT}:document-classifier/comprehend-al-classifier/version"
ENDPOINTS = f"arn:aws:comprehend:us-east-1:{ACCOUNT}:document-classifier-endpoint"
NEW_MODEL, OLD_MODEL = f"{MODELS}/{VERSION}", f"{MODELS}/{OLD_VERSION}"
NEW_ENDPOINT = f"{ENDPOINTS}/comprehend-al-clf-20261123120501ab12cd"
OLD_ENDPOINT = f"{ENDPOINTS}/comprehend-al-clf-202611010930129e8f7a"
OTHER_EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:comprehend-al-model-lifecycle:next"


def running(stack: Stack, event: dict[str, Any], *, model_status: str = "trained") -> dict[str, Any]:
    """The run of ``event`` holds its kind's lock and its version is in the registry; the old model is
    active behind the old endpoint."""
    state = event["state"]
    assert stack.deps.registry.acquire_lock(ModelKind.CLASSIFIER, state["run"]["execution_id"], seconds=3600)
    stack.deps.registry.put_model(ModelKind.CLASSIFIER, VERSION, status=model_status, model_arn=NEW_MODEL)
    stack.set_param("classifier/active-model-arn", OLD_MODEL)
    stack.set_param("classifier/active-endpoint-arn", OLD_ENDPOINT)
    stack.fake.add_classifier(OLD_MODEL)
    stack.fake.add_classifier(NEW_MODEL)
    stack.fake.add_endpoint(OLD_ENDPOINT, OLD_MODEL)
    return event


# --- FinishRun -----------------------------------------------------------------------------------------
@pytest.fixture
def rejected(stack: Stack) -> dict[str, Any]:
    return running(stack, stack.event("finish_run", "rejected.json"))


def test_finish_run_rejected_marks_the_version_rejected(stack: Stack, rejected: dict[str, Any]) -> None:
    """Given a run whose challenger was rejected, when FinishRun is called,
    then the registry marks the version rejected with the selection's reason."""
    result = stack.invoke("finish_run", rejected)

    assert result["outcome"] == "rejected"
    item = stack.deps.registry.model(ModelKind.CLASSIFIER, VERSION)
    assert item is not None
    assert item.status == "rejected"
    assert item.reason == rejected["state"]["selection"]["reason"]


def test_finish_run_rejected_notifies(stack: Stack, rejected: dict[str, Any]) -> None:
    """Given a rejected challenger, when FinishRun is called,
    then one 'rejected' notification gives the version, both scores and the reason."""
    stack.invoke("finish_run", rejected)

    [note] = stack.notifications()
    assert note["outcome"] == "rejected"
    assert note["subject"] == f"classifier {VERSION}: rejected"
    assert note["message"]["reason"] == rejected["state"]["selection"]["reason"]
    assert note["message"]["challenger_metrics"]["F1Score"] == pytest.approx(0.8812)
    assert note["message"]["champion_metrics"]["F1Score"] == pytest.approx(0.8874)


def test_finish_run_releases_the_lock(stack: Stack, rejected: dict[str, Any]) -> None:
    """Given the run holds its kind's lock, when FinishRun is called,
    then the lock is released and the next execution can take it."""
    stack.invoke("finish_run", rejected)

    assert stack.deps.registry.lock_holder(ModelKind.CLASSIFIER) is None
    assert stack.deps.registry.acquire_lock(ModelKind.CLASSIFIER, OTHER_EXECUTION, seconds=60)


def test_finish_run_promoted_notifies(stack: Stack) -> None:
    """Given a promoted run, when FinishRun is called,
    then one 'promoted' notification names the new endpoint."""
    event = running(stack, stack.event("finish_run", "promoted.json"))

    result = stack.invoke("finish_run", event)

    assert result["outcome"] == "promoted"
    [note] = stack.notifications()
    assert note["outcome"] == "promoted"
    assert note["message"]["endpoint_arn"] == NEW_ENDPOINT


# --- HandleFailure -------------------------------------------------------------------------------------
@pytest.fixture
def endpoint_failed(stack: Stack) -> dict[str, Any]:
    """The sample failure of the new endpoint this run created (NEW_ENDPOINT)."""
    event = running(stack, stack.event("handle_failure", "endpoint_failed.json"))
    stack.fake.add_endpoint(NEW_ENDPOINT, NEW_MODEL)
    return event


@pytest.fixture
def training_failed(stack: Stack) -> dict[str, Any]:
    """The sample failure of the training."""
    stack.fake.classifier_status = "IN_ERROR"
    return running(stack, stack.event("handle_failure", "training_failed.json"), model_status="training")


def test_handle_failure_deletes_the_endpoint_the_run_created(
    stack: Stack, endpoint_failed: dict[str, Any]
) -> None:
    """Given the endpoint this run created failed, when HandleFailure is called,
    then that endpoint is deleted (it would bill while it exists) and the active one is kept."""
    stack.invoke("handle_failure", endpoint_failed)

    assert NEW_ENDPOINT not in stack.fake.endpoints
    assert OLD_ENDPOINT in stack.fake.endpoints


def test_handle_failure_never_deletes_the_active_endpoint(
    stack: Stack, endpoint_failed: dict[str, Any]
) -> None:
    """Given an in-place update of the active endpoint failed, when HandleFailure is called,
    then no endpoint is deleted: the active one still serves the old model."""
    endpoint_failed["state"]["endpoint"].update(
        endpoint_arn=OLD_ENDPOINT,
        strategy="UPDATE_IN_PLACE",
        created=False,
        previous_endpoint_arn=OLD_ENDPOINT,
    )

    stack.invoke("handle_failure", endpoint_failed)

    assert stack.fake.calls_to("DeleteEndpoint") == []
    assert OLD_ENDPOINT in stack.fake.endpoints


def test_handle_failure_marks_the_version_failed_with_the_reason(
    stack: Stack, training_failed: dict[str, Any]
) -> None:
    """Given training failed, when HandleFailure is called,
    then the registry marks the version failed with the error name and Comprehend's message."""
    result = stack.invoke("handle_failure", training_failed)

    item = stack.deps.registry.model(ModelKind.CLASSIFIER, VERSION)
    assert item is not None
    assert item.status == "failed"
    assert item.reason.startswith("TrainingFailed: ")
    assert item.reason.endswith("IN_ERROR: Not enough training documents for label SHIPPING")
    assert result["outcome"] == "failed"
    assert result["reason"] == item.reason


def test_handle_failure_records_a_run_that_failed_before_training(
    stack: Stack, training_failed: dict[str, Any]
) -> None:
    """Given a run that failed before its version reached the registry, when HandleFailure is called,
    then the version is recorded as failed with its dataset and the reason."""
    stack.deps.registry.table.delete_item(Key={"pk": "MODEL#classifier", "sk": VERSION})
    del training_failed["state"]["model"]

    stack.invoke("handle_failure", training_failed)

    item = stack.deps.registry.model(ModelKind.CLASSIFIER, VERSION)
    assert item is not None
    assert (item.status, item.dataset_version) == ("failed", "d20261123-120501-ab12cd")
    assert item.reason.startswith("TrainingFailed: ")


def test_handle_failure_stops_a_training_still_running(stack: Stack, training_failed: dict[str, Any]) -> None:
    """Given the run failed while its model was still TRAINING (e.g. the poll timed out),
    when HandleFailure is called, then the training is stopped."""
    stack.fake.classifier_status = "TRAINING"

    stack.invoke("handle_failure", training_failed)

    assert stack.fake.calls_to("StopTrainingDocumentClassifier") == [{"DocumentClassifierArn": NEW_MODEL}]


def test_handle_failure_notifies(stack: Stack, training_failed: dict[str, Any]) -> None:
    """Given a failed run, when HandleFailure is called,
    then one 'failed' notification gives the version and the reason."""
    stack.invoke("handle_failure", training_failed)

    [note] = stack.notifications()
    assert note["outcome"] == "failed"
    assert note["subject"] == f"classifier {VERSION}: failed"
    assert "Not enough training documents for label SHIPPING" in note["message"]["reason"]


def test_handle_failure_releases_the_lock(stack: Stack, training_failed: dict[str, Any]) -> None:
    """Given the failed run holds its kind's lock, when HandleFailure is called,
    then the lock is released and the next execution can take it."""
    stack.invoke("handle_failure", training_failed)

    assert stack.deps.registry.lock_holder(ModelKind.CLASSIFIER) is None
    assert stack.deps.registry.acquire_lock(ModelKind.CLASSIFIER, OTHER_EXECUTION, seconds=60)


def test_handle_failure_leaves_ssm_untouched(stack: Stack, endpoint_failed: dict[str, Any]) -> None:
    """Given a run failed after creating its endpoint, when HandleFailure is called,
    then the SSM pointers still name the old model and endpoint."""
    before = stack.params()

    stack.invoke("handle_failure", endpoint_failed)

    assert stack.params() == before
    assert stack.active().endpoint_arn == OLD_ENDPOINT
