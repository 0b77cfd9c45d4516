"""The entity recognizer's lifecycle, and both model kinds side by side, run by the offline stack.

The real template, state machine and handlers; the local Comprehend service trains CRF recognizers. Each
test uploads the way a user does (a folder with ``documents.txt`` + ``annotations.csv`` under
``train/new/``) and checks SSM, the registry, the endpoints and S3 afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from comprehend_al.models import ModelKind
from comprehend_al.store.records import ModelRecord
from comprehend_al.store.registry import Registry

from local import datagen, entitygen
from local.stack import Offline, running

NER = ModelKind.ENTITY_RECOGNIZER
CLF = ModelKind.CLASSIFIER


@pytest.fixture
def offline(tmp_path: Path) -> Iterator[Offline]:
    with running(tmp_path / "comprehend") as env:
        env.stack.put("test/classifier/test.csv", datagen.to_csv(datagen.generate(150, seed=99)))
        documents, annotations = entitygen.to_files(entitygen.generate(80, seed=99))
        env.stack.put("test/entities/documents.txt", documents)
        env.stack.put("test/entities/annotations.csv", annotations)
        yield env


def upload_entities(env: Offline, folder: str, documents: list[entitygen.Document]) -> dict[str, Any]:
    """Upload a folder: documents first (no run can take it yet), then annotations (this run takes it)."""
    text, annotations = entitygen.to_files(documents)
    env.stack.put(f"train/new/{folder}/documents.txt", text)
    return env.stack.upload(f"train/new/{folder}/annotations.csv", annotations)


def active(env: Offline, kind: ModelKind) -> tuple[str | None, str | None]:
    active = env.stack.active(kind)
    return active.model_arn, active.endpoint_arn


def models(env: Offline, kind: ModelKind) -> list[ModelRecord]:
    return Registry(env.stack.outputs["RegistryTableName"]).models(kind)


def endpoints(env: Offline, kind: ModelKind) -> list[str]:
    client = boto3.client("comprehend", endpoint_url=env.comprehend.url, region_name="us-east-1")
    marker = ":entity-recognizer-endpoint/" if kind is NER else ":document-classifier-endpoint/"
    return [
        e["EndpointArn"]
        for e in client.list_endpoints()["EndpointPropertiesList"]
        if marker in e["EndpointArn"]
    ]


def keys(env: Offline, prefix: str) -> list[str]:
    s3 = boto3.client("s3", region_name="us-east-1")
    return [o["Key"] for o in s3.list_objects_v2(Bucket=env.stack.bucket, Prefix=prefix).get("Contents", [])]


def trainings(env: Offline) -> list[str]:
    """The kinds of the runs started so far, in order (StartModelBuilding is called once per run)."""
    return [p["run"]["kind"] for name, p in env.router.calls if name == "StartModelBuildingFunction"]


def assert_deployed(env: Offline, kind: ModelKind, model: dict[str, Any]) -> None:
    """SSM points at ``model`` and its endpoint, the only endpoint of its kind."""
    assert model.status == "active"
    assert active(env, kind) == (model.model_arn, model.endpoint_arn)
    assert endpoints(env, kind) == [model.endpoint_arn]


def test_entity_folder_trains_evaluates_and_deploys_a_recognizer(offline: Offline) -> None:
    # Given only the documents of an upload folder: the folder is incomplete, nothing is trained or moved
    text, annotations = entitygen.to_files(entitygen.weak_start(45, seed=1))
    waiting = offline.stack.upload("train/new/batch-1/documents.txt", text)
    assert waiting["status"] == "SUCCEEDED" and models(offline, NER) == []
    assert keys(offline, "train/new/") == ["train/new/batch-1/documents.txt"]
    assert keys(offline, "quarantine/") == []

    # When its annotations arrive
    result = offline.stack.upload("train/new/batch-1/annotations.csv", annotations)

    # Then a recognizer is trained, evaluated on the fixed test set and deployed as the first model
    assert result["status"] == "SUCCEEDED", result.get("cause")
    [model] = models(offline, NER)
    assert model.model_arn.startswith("arn:aws:comprehend:us-east-1:123456789012:entity-recognizer/")
    assert_deployed(offline, NER, model)
    assert model.selection["decision"] == "promote" and "first model" in model.selection["reason"]
    [evaluation] = model.evaluations.values()
    assert evaluation["F1Score"] > 0.7 and set(evaluation["per_type"]) == {"COMPANY", "PERSON", "TICKER"}
    assert model.training_metrics["F1Score"] > 70  # Comprehend's own figure, 0-100 (a weak first batch)
    assert offline.stack.active(NER).model_arn == model.model_arn
    assert keys(offline, "train/new/") == []
    dataset = model.dataset_version
    assert keys(offline, f"datasets/entity_recognizer/{dataset}/") == [
        f"datasets/entity_recognizer/{dataset}/annotations.csv",
        f"datasets/entity_recognizer/{dataset}/documents.txt",
        f"datasets/entity_recognizer/{dataset}/lineage.json",
    ]
    assert sorted(keys(offline, "train/processed/")) == [
        f"train/processed/{dataset}/batch-1/annotations.csv",
        f"train/processed/{dataset}/batch-1/documents.txt",
    ]
    assert models(offline, CLF) == [] and endpoints(offline, CLF) == []

    # And when a larger good batch follows, the better recognizer replaces the first one
    second = upload_entities(offline, "batch-2", entitygen.generate(300, seed=2))

    assert second["status"] == "SUCCEEDED", second.get("cause")
    old, new = models(offline, NER)
    assert (old.status, new.status) == ("retired", "active")
    assert new.selection["challenger_value"] > new.selection["champion_value"]
    assert_deployed(offline, NER, new)
    assert old.endpoint_arn not in endpoints(offline, NER)


def test_both_kinds_train_in_parallel_and_are_selected_independently(offline: Offline) -> None:
    # Given pending uploads for both kinds: a classifier CSV and an entity folder
    offline.stack.put("train/new/tickets.csv", datagen.to_csv(datagen.generate(75, seed=1)))

    # When one execution takes them
    result = upload_entities(offline, "news", entitygen.generate(45, seed=1))

    # Then both lifecycles run in that execution (one Map iteration each) and both models are promoted
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert sorted(trainings(offline)) == ["classifier", "entity_recognizer"]
    history = offline.stack.history(result["executionArn"])
    assert sum(e["type"] == "MapIterationStarted" for e in history) == 2
    [classifier] = models(offline, CLF)
    [recognizer] = models(offline, NER)
    assert_deployed(offline, CLF, classifier)
    assert_deployed(offline, NER, recognizer)
    assert keys(offline, "train/new/") == []

    # Given a harmful (mislabelled) entity batch and a good classifier batch
    offline.stack.put("train/new/more-tickets.csv", datagen.to_csv(datagen.generate(400, seed=2)))

    # When one execution takes them
    result = upload_entities(offline, "harmful", entitygen.mislabel(entitygen.generate(300, seed=3)))

    # Then the guard holds the recognizer's batch before training (SSM, endpoint unchanged) while the
    # classifier is promoted
    assert result["status"] == "SUCCEEDED", result.get("cause")
    [champion] = models(offline, NER)
    assert champion.status == "active"
    assert_deployed(offline, NER, champion)
    old, new = models(offline, CLF)
    assert (old.status, new.status) == ("retired", "active")
    assert_deployed(offline, CLF, new)
    # the held batch's data is kept (a human may fix the labels and readmit it), not quarantined
    registry = Registry(offline.stack.outputs["RegistryTableName"])
    held = registry.batches(NER)[-1]
    assert held.status == "held" and held.guard is not None and held.guard["held"]
    assert "COMPANY → PERSON" in held.reason or "→" in held.reason
    assert keys(offline, "quarantine/") == [] and keys(offline, "train/new/") == []
