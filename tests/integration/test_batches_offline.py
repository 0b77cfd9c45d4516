"""Batches, their lineage, the guard and rollback: the real state machine on the offline stack.

Each test uploads what a user (or the label buffer) uploads and checks what the issue promises: which
batches a dataset version holds, what is held and why, and that a bad batch never stalls the loop.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from comprehend_al.models import ModelKind
from comprehend_al.store.records import BatchRecord, ModelRecord
from comprehend_al.store.registry import Registry

from local import datagen
from local.stack import Offline, running

CLF = ModelKind.CLASSIFIER


@pytest.fixture
def offline(tmp_path: Path) -> Iterator[Offline]:
    with running(tmp_path / "comprehend") as env:
        env.stack.put("test/classifier/test.csv", datagen.to_csv(datagen.generate(200, seed=99)))
        yield env


def csv_rows(n: int, seed: int) -> bytes:
    return datagen.to_csv(datagen.generate(n, seed=seed))


def registry(env: Offline) -> Registry:
    return Registry(env.stack.outputs["RegistryTableName"])


def models(env: Offline, kind: ModelKind = CLF) -> list[ModelRecord]:
    return registry(env).models(kind)


def batches(env: Offline, kind: ModelKind = CLF) -> list[BatchRecord]:
    return registry(env).batches(kind)


def read(env: Offline, uri: str) -> Any:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    body = boto3.client("s3", region_name="us-east-1").get_object(Bucket=bucket, Key=key)["Body"].read()
    return json.loads(body)


def test_every_upload_is_a_batch_and_each_dataset_version_lists_its_batches(offline: Offline) -> None:
    """Given two uploads that each promote a model, then each is a batch (origin, source, rows, labels)
    accepted by the model trained on it, and the dataset version names both batches and, per batch, the
    rows it contributes."""
    assert offline.stack.upload("train/new/first.csv", csv_rows(75, seed=1))["status"] == "SUCCEEDED"
    assert offline.stack.upload("train/new/second.csv", csv_rows(400, seed=2))["status"] == "SUCCEEDED"

    first, second = batches(offline)
    assert (first.source, first.origin, first.rows, first.status) == (
        "train/new/first.csv",
        "upload",
        75,
        "accepted",
    )
    assert sum(first.labels.values()) == 75 and second.rows == 400 and second.status == "accepted"
    old, new = models(offline)
    assert first.model_version == old.version and second.model_version == new.version
    record = registry(offline).current_record(CLF)
    assert record is not None and record.batches == [first.batch_id, second.batch_id]
    lineage = read(offline, str(record.lineage_uri))
    assert set(lineage["batches"]) == {first.batch_id, second.batch_id}
    assert sum(len(rows) for rows in lineage["batches"].values()) == record.dataset.documents
