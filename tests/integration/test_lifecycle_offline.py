"""The real state machine, template and handlers, run end to end by the offline stack.

Each test uploads data the way a user does (S3 object under ``train/new/`` → the EventBridge event) and
asserts what a user would check afterwards: SSM pointers, the registry, endpoints and S3.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from comprehend_al.models import ModelKind
from comprehend_al.store.records import ModelRecord
from comprehend_al.store.registry import Registry

from local import datagen
from local.stack import Offline, running
from tests.integration.lifecycle_faults import read_training


@pytest.fixture
def offline(tmp_path: Path) -> Iterator[Offline]:
    with running(tmp_path / "comprehend") as env:
        env.stack.put("test/classifier/test.csv", datagen.to_csv(datagen.generate(150, seed=99)))
        yield env


def csv_rows(n: int, seed: int) -> bytes:
    return datagen.to_csv(datagen.generate(n, seed=seed))


def registry(env: Offline) -> Registry:
    return Registry(env.stack.outputs["RegistryTableName"])


def models(env: Offline) -> list[ModelRecord]:
    return registry(env).models(ModelKind.CLASSIFIER)


def endpoints(env: Offline) -> list[dict[str, Any]]:
    client = boto3.client("comprehend", endpoint_url=env.comprehend.url, region_name="us-east-1")
    return list(client.list_endpoints()["EndpointPropertiesList"])


def keys(env: Offline, prefix: str) -> list[str]:
    s3 = boto3.client("s3", region_name="us-east-1")
    return [o["Key"] for o in s3.list_objects_v2(Bucket=env.stack.bucket, Prefix=prefix).get("Contents", [])]


def calls(env: Offline, function: str) -> int:
    return sum(1 for name, _ in env.router.calls if name == function)


def test_first_model_is_deployed_without_selection(offline: Offline) -> None:
    """Given no active model, when the first labelled upload arrives, then it is trained and deployed."""
    result = offline.stack.upload("train/new/first.csv", csv_rows(100, seed=1))

    assert result["status"] == "SUCCEEDED"
    [model] = models(offline)
    assert model.status == "active"
    assert offline.stack.active().model_arn == model.model_arn
    assert offline.stack.active().endpoint_arn == model.endpoint_arn
    assert [e["Status"] for e in endpoints(offline)] == ["IN_SERVICE"]
    assert model.selection["decision"] == "promote" and "first model" in model.selection["reason"]
    assert keys(offline, "train/new/") == []
    assert keys(offline, "train/processed/") and keys(offline, "datasets/classifier/")


def test_better_challenger_is_promoted_and_old_endpoint_deleted(offline: Offline) -> None:
    """Given an active model, when more labelled data makes a better model, then it replaces the old one."""
    offline.stack.upload("train/new/first.csv", csv_rows(75, seed=1))
    first_endpoint = offline.stack.active().endpoint_arn

    result = offline.stack.upload("train/new/second.csv", csv_rows(400, seed=2))

    assert result["status"] == "SUCCEEDED"
    old, new = models(offline)
    assert (old.status, new.status) == ("retired", "active")
    assert new.selection["challenger_value"] > new.selection["champion_value"]
    assert offline.stack.active().model_arn == new.model_arn
    assert [e["EndpointArn"] for e in endpoints(offline)] == [new.endpoint_arn]
    assert first_endpoint != new.endpoint_arn


def test_worse_challenger_is_rejected_and_its_batch_held(offline: Offline) -> None:
    """Given a good champion, when a batch relabelling one class as another arrives (subtle enough for the
    guard), then the challenger is rejected as worse, SSM is untouched, no endpoint is created, and the
    batch is held: kept (its rows stay in the dataset version it trained on), not trained on again."""
    offline.stack.upload("train/new/first.csv", csv_rows(300, seed=1))
    champion_arn = offline.stack.active().model_arn
    shifted = [
        datagen.Ticket("SHIPPING" if t.label == "BILLING" else t.label, t.text)
        for t in datagen.generate(500, seed=3)
    ]

    result = offline.stack.upload("train/new/harmful.csv", datagen.to_csv(shifted))

    assert result["status"] == "SUCCEEDED"
    champion, challenger = models(offline)
    assert (champion.status, challenger.status) == ("active", "rejected")
    assert "worse" in challenger.reason
    assert offline.stack.active().model_arn == champion_arn
    assert len(endpoints(offline)) == 1
    current = registry(offline).current_dataset(ModelKind.CLASSIFIER)
    assert current is not None and current.documents == 800
    assert [b.status for b in registry(offline).batches(ModelKind.CLASSIFIER)] == ["accepted", "held"]


def test_training_in_error_fails_the_run_and_leaves_nothing_running(offline: Offline) -> None:
    """Given bad data that Comprehend rejects, when training ends IN_ERROR, then the run fails cleanly."""
    offline.comprehend.faults.fail_next_training("Minimum 10 unique documents are required per label")

    result = offline.stack.upload("train/new/first.csv", csv_rows(100, seed=1))

    assert result["status"] == "FAILED"
    [model] = models(offline)
    assert model.status == "failed" and "TrainingFailed" in model.reason
    assert "Minimum 10 unique documents" in model.reason
    assert offline.stack.active().model_arn is None
    assert endpoints(offline) == []
    # the lock was released: the next upload trains again
    assert offline.stack.upload("train/new/again.csv", csv_rows(100, seed=5))["status"] == "SUCCEEDED"


def test_failed_endpoint_is_deleted_and_champion_kept(offline: Offline) -> None:
    """Given an active model, when the new endpoint ends FAILED, then it is deleted and SSM is untouched."""
    offline.stack.upload("train/new/first.csv", csv_rows(75, seed=1))
    champion_arn, champion_endpoint = (
        offline.stack.active().model_arn,
        offline.stack.active().endpoint_arn,
    )
    offline.comprehend.faults.fail_next_endpoint("Insufficient capacity")

    result = offline.stack.upload("train/new/second.csv", csv_rows(400, seed=2))

    assert result["status"] == "FAILED"
    assert models(offline)[-1].status == "failed" and "EndpointFailed" in models(offline)[-1].reason
    assert (offline.stack.active().model_arn, offline.stack.active().endpoint_arn) == (
        champion_arn,
        champion_endpoint,
    )
    assert [e["EndpointArn"] for e in endpoints(offline)] == [champion_endpoint]


def test_throttled_comprehend_calls_are_retried(offline: Offline) -> None:
    """Given Comprehend throttles CreateDocumentClassifier four times (more than the SDK's own three
    attempts), when a run starts, then the state machine retries the step with backoff and succeeds."""
    offline.comprehend.faults.throttle("CreateDocumentClassifier", times=4)

    result = offline.stack.upload("train/new/first.csv", csv_rows(100, seed=1))

    assert result["status"] == "SUCCEEDED"
    assert calls(offline, "StartModelBuildingFunction") == 2
    assert models(offline)[0].status == "active"


def test_lambda_error_after_endpoint_creation_cleans_up(offline: Offline) -> None:
    """Given a new endpoint is up, when promotion crashes, then that endpoint is deleted and SSM untouched."""
    offline.router.fail_next("PromoteModelFunction", RuntimeError("simulated crash"))

    result = offline.stack.upload("train/new/first.csv", csv_rows(100, seed=1))

    assert result["status"] == "FAILED"
    [model] = models(offline)
    assert model.status == "failed" and "RuntimeError: simulated crash" in model.reason
    assert endpoints(offline) == []
    assert offline.stack.active().model_arn is None


def test_invalid_upload_is_quarantined_with_a_report(offline: Offline) -> None:
    """Given a CSV with a row without text, when it is uploaded, then it goes to quarantine/ with a report
    naming file, line and field, and nothing is trained."""
    bad = b'BILLING,"charged twice"\nSHIPPING\nTECHNICAL,app crashes\n'

    result = offline.stack.upload("train/new/bad.csv", bad)

    assert result["status"] == "SUCCEEDED"
    [report_key] = [k for k in keys(offline, "quarantine/") if k.endswith("report.json")]
    body = boto3.client("s3").get_object(Bucket=offline.stack.bucket, Key=report_key)["Body"].read()
    [problem] = json.loads(body)["problems"]
    assert (problem["file"], problem["line"]) == ("train/new/bad.csv", 2)
    assert problem["field"]
    assert keys(offline, "train/new/") == [] and models(offline) == []
    assert registry(offline).current_dataset(ModelKind.CLASSIFIER) is None


def test_same_event_delivered_twice_trains_once(offline: Offline) -> None:
    """Given EventBridge delivers the same S3 event twice, then only one model is trained."""
    put = offline.stack.put("train/new/first.csv", csv_rows(100, seed=1))
    event = offline.stack.object_created_event("train/new/first.csv", 1, put)

    first = offline.stack.wait(offline.stack.start_execution(event))
    second = offline.stack.wait(offline.stack.start_execution(event))

    assert (first["status"], second["status"]) == ("SUCCEEDED", "SUCCEEDED")
    assert len(models(offline)) == 1


def test_upload_during_a_run_is_left_pending_then_merged(offline: Offline) -> None:
    """Given a run holds the lock, when another upload arrives, then it is not merged by a second run at
    the same time, and the next run merges it."""
    assert registry(offline).acquire_lock(ModelKind.CLASSIFIER, "another-execution", seconds=600)

    blocked = offline.stack.upload("train/new/late.csv", csv_rows(100, seed=1))

    assert blocked["status"] == "SUCCEEDED" and models(offline) == []
    assert keys(offline, "train/new/") == ["train/new/late.csv"]
    registry(offline).release_lock(ModelKind.CLASSIFIER, "another-execution")
    assert offline.stack.upload("train/new/next.csv", csv_rows(100, seed=2))["status"] == "SUCCEEDED"
    assert registry(offline).current_dataset(ModelKind.CLASSIFIER).documents == 200  # type: ignore[union-attr]


def test_upload_arriving_mid_run_is_trained_by_the_next_round(offline: Offline) -> None:
    """Given a run is training, when a new upload lands, then the same execution runs another round on it."""
    late = csv_rows(200, seed=7)

    def upload_late(function: str, _: Any) -> None:
        first_training = function == "StartModelBuildingFunction" and calls(offline, function) == 1
        if first_training and not keys(offline, "train/new/"):
            offline.stack.put("train/new/late.csv", late)

    offline.router.before_invoke.append(upload_late)
    result = offline.stack.upload("train/new/first.csv", csv_rows(100, seed=1))

    assert result["status"] == "SUCCEEDED"
    assert len(models(offline)) == 2
    assert registry(offline).current_dataset(ModelKind.CLASSIFIER).documents == 300  # type: ignore[union-attr]


def test_reuploading_the_current_dataset_retrains_on_the_same_rows(offline: Offline) -> None:
    """Given an active model, when its dataset version is uploaded again (a retrain without new data),
    then a new version is trained on the same rows and a tie keeps the champion."""
    offline.stack.upload("train/new/first.csv", csv_rows(100, seed=1))
    current = registry(offline).current_dataset(ModelKind.CLASSIFIER)
    assert current is not None
    body = read_training(current.train_uri)

    result = offline.stack.upload("train/new/retrain.csv", body)

    assert result["status"] == "SUCCEEDED"
    champion, challenger = models(offline)
    again = registry(offline).current_dataset(ModelKind.CLASSIFIER)
    assert again is not None and again.version != current.version
    assert (again.documents, again.added, again.duplicates_dropped) == (100, 0, 100)
    assert challenger.dataset_version == again.version
    # the local engine is deterministic: the same rows give the same metrics
    assert (champion.status, challenger.status) == ("active", "rejected")
    assert "a tie keeps the champion" in challenger.reason


def test_changed_test_set_evaluates_the_champion_again(offline: Offline) -> None:
    """Given a champion evaluated on the old test set, when the fixed test set changes and new data
    arrives, then the champion is tested on the new version too and both are compared on it."""
    offline.stack.upload("train/new/first.csv", csv_rows(75, seed=1))
    offline.stack.put("test/classifier/test.csv", datagen.to_csv(datagen.generate(200, seed=42)))

    result = offline.stack.upload("train/new/second.csv", csv_rows(300, seed=2))

    assert result["status"] == "SUCCEEDED"
    champion, challenger = models(offline)
    assert len(champion.evaluations) == 2  # the old test version and the new one
    assert set(challenger.evaluations) <= set(champion.evaluations)
    new_version = challenger.test_version
    assert challenger.selection["champion_value"] == pytest.approx(
        champion.evaluations[new_version]["F1Score"]
    )
    assert calls(offline, "StartTestJobFunction") == 2
