"""PrepareTrainingData: pending uploads become a dataset version and a run, or are quarantined / kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from comprehend_al.errors import InvalidRequest
from comprehend_al.models import ModelKind

from local import datagen

if TYPE_CHECKING:
    from tests.integration.conftest import Stack

FUNCTION = "prepare_training_data"
EVENTS = Path(__file__).resolve().parents[2] / "events" / FUNCTION
UPLOAD_KEY = "train/new/support-tickets-2026-11-23.csv"  # the object of the sample event
MACHINE = "arn:aws:states:us-east-1:123456789012:execution:comprehend-al-model-lifecycle"
EXECUTION = f"{MACHINE}:7d1f0c2e-8b4a-4e6f-9a13-5c2d8e0b7f41"  # the execution of the sample event
OTHER_EXECUTION = f"{MACHINE}:0b5e7c1d-2f3a-4d6e-8a9b-1c2d3e4f5a6b"

TRAINING = datagen.generate(60, seed=1)  # 12 per label, 5 labels: trainable with MIN_DOCS_PER_LABEL=10
TEST_SET = datagen.generate(20, seed=2)


def s3_event(execution_id: str = EXECUTION) -> dict[str, Any]:
    """The sample event (an upload under train/new/), as started by ``execution_id``."""
    event = json.loads((EVENTS / "s3_object_created.json").read_text())
    event["execution_id"] = execution_id
    return event


def invalid_upload() -> bytes:
    """A ticket CSV whose 5th line has no label."""
    lines = datagen.to_csv(datagen.generate(20, seed=3)).decode().splitlines(keepends=True)
    lines[4] = ",my parcel has not arrived since Monday\n"
    return "".join(lines).encode()


@pytest.fixture
def uploaded(stack: Stack) -> Stack:
    """A valid upload pending under train/new/, and the fixed test set in place."""
    stack.put_test_set(TEST_SET)
    stack.put(UPLOAD_KEY, datagen.to_csv(TRAINING))
    return stack


def test_valid_upload_writes_a_dataset_version(uploaded: Stack) -> None:
    """Given a valid upload and a test set, when the upload event arrives,
    then a dataset version holding every uploaded row is written and recorded as current."""
    result = uploaded.invoke(FUNCTION, s3_event())

    current = uploaded.deps.registry.current_dataset(ModelKind.CLASSIFIER)
    assert current is not None
    assert current.version == result["outcomes"][0]["dataset"]
    assert current.documents == len(TRAINING)
    assert uploaded.training_data(current.train_uri).decode().count("\n") == len(TRAINING)


def test_valid_upload_returns_a_run_on_the_new_dataset(uploaded: Stack) -> None:
    """Given a valid upload and a test set, when the upload event arrives,
    then one classifier run is returned, trained on the new dataset and tested on the fixed test set."""
    result = uploaded.invoke(FUNCTION, s3_event())

    assert len(result["runs"]) == 1
    run = result["runs"][0]
    assert run["kind"] == "classifier"
    assert run["model_name"] == "comprehend-al-classifier"
    assert run["execution_id"] == EXECUTION
    assert run["dataset"]["version"] == result["outcomes"][0]["dataset"]
    assert run["dataset"]["test_uri"] == uploaded.uri(uploaded.test_key)
    assert result["outcomes"][0]["status"] == "training"


def test_valid_upload_moves_to_processed(uploaded: Stack) -> None:
    """Given a valid upload, when it has been merged,
    then it is no longer pending and lies under train/processed/<dataset version>/."""
    result = uploaded.invoke(FUNCTION, s3_event())

    version = result["outcomes"][0]["dataset"]
    assert uploaded.keys("train/new/") == []
    assert uploaded.keys("train/processed/") == [f"train/processed/{version}/support-tickets-2026-11-23.csv"]


def test_invalid_upload_is_quarantined_with_a_report(stack: Stack) -> None:
    """Given an upload with a row without a label, when the upload event arrives,
    then the upload is moved to quarantine/ beside a report.json naming the file, the line and the field."""
    stack.put_test_set(TEST_SET)
    stack.put(UPLOAD_KEY, invalid_upload())

    stack.invoke(FUNCTION, s3_event())

    assert stack.keys("train/new/") == []
    quarantined = stack.keys("quarantine/")
    assert [k.rsplit("/", 1)[1] for k in quarantined] == ["report.json", "support-tickets-2026-11-23.csv"]
    report = json.loads(stack.get(next(k for k in quarantined if k.endswith("report.json"))))
    assert report["upload"] == UPLOAD_KEY
    assert {"file": UPLOAD_KEY, "line": 5, "field": "label"}.items() <= report["problems"][0].items()


def test_invalid_upload_notifies(stack: Stack) -> None:
    """Given an invalid upload, when it is quarantined,
    then a 'quarantined' notification points at the report and lists the problem."""
    stack.put_test_set(TEST_SET)
    stack.put(UPLOAD_KEY, invalid_upload())

    stack.invoke(FUNCTION, s3_event())

    [note] = stack.notifications()
    assert note["outcome"] == "quarantined"
    assert note["message"]["report"].startswith(stack.uri("quarantine/"))
    assert note["message"]["problems"][0].startswith(f"{UPLOAD_KEY}:5: label:")


def test_invalid_upload_starts_no_run(stack: Stack) -> None:
    """Given an invalid upload (and nothing else pending), when the upload event arrives,
    then no run starts, no dataset version is written, and the kind is not left locked."""
    stack.put_test_set(TEST_SET)
    stack.put(UPLOAD_KEY, invalid_upload())

    result = stack.invoke(FUNCTION, s3_event())

    assert result["runs"] == []
    assert result["outcomes"][0]["status"] == "quarantined"
    assert stack.deps.registry.current_dataset(ModelKind.CLASSIFIER) is None
    assert stack.deps.registry.lock_holder(ModelKind.CLASSIFIER) is None


def test_without_test_set_data_is_merged_but_not_trained(stack: Stack) -> None:
    """Given a valid upload but no fixed test set, when the upload event arrives,
    then the data is merged into a dataset version, no run starts, and the outcome says why."""
    stack.put(UPLOAD_KEY, datagen.to_csv(TRAINING))

    result = stack.invoke(FUNCTION, s3_event())

    assert result["runs"] == []
    [outcome] = result["outcomes"]
    assert outcome["status"] == "waiting"
    assert any(stack.test_key in reason and "no fixed test set" in reason for reason in outcome["reasons"])
    current = stack.deps.registry.current_dataset(ModelKind.CLASSIFIER)
    assert current is not None and current.documents == len(TRAINING)


def test_lock_held_by_another_execution_skips_and_keeps_upload_pending(uploaded: Stack) -> None:
    """Given another execution holds the classifier lock, when the upload event arrives,
    then the kind is skipped naming the holder, and the upload stays pending for the next run."""
    assert uploaded.deps.registry.acquire_lock(ModelKind.CLASSIFIER, OTHER_EXECUTION, seconds=3600)

    result = uploaded.invoke(FUNCTION, s3_event())

    assert result["runs"] == []
    assert result["outcomes"] == [
        {"kind": "classifier", "status": "skipped", "reason": f"run in progress: {OTHER_EXECUTION}"}
    ]
    assert uploaded.keys("train/new/") == [UPLOAD_KEY]
    assert uploaded.deps.registry.current_dataset(ModelKind.CLASSIFIER) is None


def test_same_event_twice_second_finds_nothing(uploaded: Stack) -> None:
    """Given an upload already merged by a first execution, when the same event starts a second one,
    then the second finds nothing pending: no run, no outcome, no second dataset version."""
    first = uploaded.invoke(FUNCTION, s3_event())

    second = uploaded.invoke(FUNCTION, s3_event(OTHER_EXECUTION))

    assert (second["runs"], second["outcomes"]) == ([], [])
    assert len(uploaded.deps.registry.datasets(ModelKind.CLASSIFIER)) == 1
    assert len(first["runs"]) == 1


def test_event_for_another_bucket_is_refused(uploaded: Stack) -> None:
    """Given an event naming a bucket that is not the data bucket, when it arrives,
    then it is refused (InvalidRequest) and the pending upload is left alone."""
    event = s3_event()
    event["event"]["detail"]["bucket"]["name"] = "someone-elses-bucket"

    with pytest.raises(InvalidRequest, match="someone-elses-bucket"):
        uploaded.invoke(FUNCTION, event)

    assert uploaded.keys("train/new/") == [UPLOAD_KEY]
