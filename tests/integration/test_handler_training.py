"""StartModelBuilding and GetModelStatus: training starts on the run's dataset and is polled to an end."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from comprehend_al.errors import ComprehendThrottled, PollTimedOut, TrainingFailed
from comprehend_al.models import ModelKind

if TYPE_CHECKING:
    from tests.integration.conftest import Stack

VERSION = "v20261123-120501-ab12cd"  # the run of the sample events


def build_event(stack: Stack) -> dict[str, Any]:
    return stack.event("start_model_building", "classifier.json")


def poll_event(stack: Stack) -> dict[str, Any]:
    """A poll of a training that started (the classifier exists, the registry says 'training')."""
    event = stack.event("get_model_status", "training.json")
    stack.fake.add_classifier(event["model"]["model_arn"])
    stack.deps.registry.put_model(
        ModelKind.CLASSIFIER, VERSION, status="training", model_arn=event["model"]["model_arn"]
    )
    return event


# --- StartModelBuilding --------------------------------------------------------------------------------
def test_start_model_building_trains_the_version_on_the_dataset_and_fixed_test_set(stack: Stack) -> None:
    """Given a run, when StartModelBuilding is called,
    then Comprehend is asked for a new version (VersionName) of the model, trained on the run's dataset
    and tested on the fixed test set (TestS3Uri)."""
    event = build_event(stack)

    result = stack.invoke("start_model_building", event)

    [request] = stack.fake.calls_to("CreateDocumentClassifier")
    dataset = event["run"]["dataset"]
    assert request["DocumentClassifierName"] == "comprehend-al-classifier"
    assert request["VersionName"] == VERSION
    assert request["InputDataConfig"]["S3Uri"] == dataset["train_uri"]
    assert request["InputDataConfig"]["TestS3Uri"] == dataset["test_uri"]
    assert request["Mode"] == "MULTI_CLASS"
    assert result["model_arn"] == stack.fake.classifier_arn("comprehend-al-classifier", VERSION)


def test_start_model_building_records_the_version_as_training(stack: Stack) -> None:
    """Given a run, when training has been started,
    then the registry holds the version as 'training' with its model ARN and dataset version."""
    result = stack.invoke("start_model_building", build_event(stack))

    item = stack.deps.registry.model(ModelKind.CLASSIFIER, VERSION)
    assert item is not None
    assert item.status == "training"
    assert item.model_arn == result["model_arn"]
    assert item.dataset_version == "d20261123-120501-ab12cd"


def test_start_model_building_throttled_raises_comprehend_throttled(stack: Stack) -> None:
    """Given Comprehend throttles CreateDocumentClassifier, when StartModelBuilding is called,
    then it raises ComprehendThrottled (which the state machine retries)."""
    stack.fake.fail_next("CreateDocumentClassifier", "TooManyRequestsException", "Rate exceeded")

    with pytest.raises(ComprehendThrottled, match="Rate exceeded"):
        stack.invoke("start_model_building", build_event(stack))


# --- GetModelStatus ------------------------------------------------------------------------------------
def test_get_model_status_training_is_not_done_and_counts_the_attempt(stack: Stack) -> None:
    """Given the model is still TRAINING, when GetModelStatus polls it,
    then it is not done and the attempt count goes up by one."""
    event = poll_event(stack)
    stack.fake.classifier_status = "TRAINING"

    result = stack.invoke("get_model_status", event)

    assert result["done"] is False
    assert result["status"] == "TRAINING"
    assert result["attempt"] == event["model"]["attempt"] + 1


def test_get_model_status_trained_is_done_and_recorded(stack: Stack) -> None:
    """Given the model is TRAINED, when GetModelStatus polls it,
    then it is done and the registry marks the version 'trained' with Comprehend's own metrics."""
    event = poll_event(stack)
    stack.fake.classifier_status = "TRAINED"

    result = stack.invoke("get_model_status", event)

    assert result["done"] is True
    item = stack.deps.registry.model(ModelKind.CLASSIFIER, VERSION)
    assert item is not None
    assert item.status == "trained"
    assert item.training_metrics == stack.fake.classifier_metrics


def test_get_model_status_in_error_raises_training_failed_with_the_message(stack: Stack) -> None:
    """Given training ended IN_ERROR, when GetModelStatus polls it,
    then it raises TrainingFailed carrying Comprehend's message."""
    event = poll_event(stack)
    stack.fake.classifier_status = "IN_ERROR"
    stack.fake.classifier_message = "Not enough training documents for label SHIPPING"

    with pytest.raises(TrainingFailed, match="IN_ERROR: Not enough training documents for label SHIPPING"):
        stack.invoke("get_model_status", event)


def test_get_model_status_out_of_attempts_raises_poll_timed_out(stack: Stack) -> None:
    """Given training is still running on the last allowed poll, when GetModelStatus polls it,
    then it raises PollTimedOut."""
    event = poll_event(stack)
    stack.configure(MAX_POLL_ATTEMPTS=str(event["model"]["attempt"]))
    stack.fake.classifier_status = "TRAINING"

    with pytest.raises(PollTimedOut):
        stack.invoke("get_model_status", event)
