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

from local import datagen, entitygen
from local.stack import Offline, running

CLF = ModelKind.CLASSIFIER
NER = ModelKind.ENTITY_RECOGNIZER


@pytest.fixture
def offline(tmp_path: Path) -> Iterator[Offline]:
    with running(tmp_path / "comprehend") as env:
        env.stack.put("test/classifier/test.csv", datagen.to_csv(datagen.generate(200, seed=99)))
        yield env


@pytest.fixture
def notifications(offline: Offline) -> Any:
    """The messages published on the stack's topic (through an SQS subscription), oldest first."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="batch-notes")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns", region_name="us-east-1").subscribe(
        TopicArn=offline.stack.outputs["NotificationTopicArn"], Protocol="sqs", Endpoint=arn
    )
    seen: list[dict[str, Any]] = []

    def read() -> list[dict[str, Any]]:
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return seen
            for m in messages:
                seen.append(json.loads(json.loads(m["Body"])["Message"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    return read


def refund_rows(n: int, start: int = 0) -> list[datagen.Ticket]:
    """A sixth label the generator does not know."""
    return [
        datagen.Ticket("REFUND", f"please refund order {1000 + i}, I sent it back")
        for i in range(start, start + n)
    ]


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
    assert {part["batch"] for part in lineage["parts"]} == {first.batch_id, second.batch_id}
    assert sum(part["live"] for part in lineage["parts"]) == record.dataset.documents


def test_a_header_line_is_skipped_and_training_proceeds(offline: Offline) -> None:
    """Given an upload whose first line is ``label,text``, when it arrives, then the header is reported
    (no class ``label``), the other rows train a model, and a later upload is not blocked by it."""
    body = b"label,text\n" + csv_rows(75, seed=1)

    result = offline.stack.upload("train/new/with-header.csv", body)

    assert result["status"] == "SUCCEEDED"
    [batch] = batches(offline)
    assert batch.rows == 75 and "label" not in batch.labels
    assert any("header" in w for w in batch.warnings)
    [model] = models(offline)
    assert model.status == "active"
    current = registry(offline).current_dataset(CLF)
    assert current is not None and "label" not in current.label_counts and current.documents == 75


def test_a_rare_label_waits_without_blocking_and_trains_once_it_has_enough(
    offline: Offline, notifications: Any
) -> None:
    """Given a test set holding a sixth label, when 3 documents of it arrive with 75 of the others, then
    a model is trained on the five others, the 3 rows wait (kept in the lineage, counted in the
    notification), and once 12 more arrive the next model knows the label."""
    test = datagen.generate(200, seed=99) + refund_rows(20, start=500)
    offline.stack.put("test/classifier/test.csv", datagen.to_csv(test))

    first = datagen.generate(75, seed=1) + refund_rows(3)
    assert offline.stack.upload("train/new/first.csv", datagen.to_csv(first))["status"] == "SUCCEEDED"

    [model] = models(offline)
    assert model.status == "active"
    current = registry(offline).current_dataset(CLF)
    assert current is not None and current.waiting == {"REFUND": 3} and "REFUND" not in current.label_counts
    record = registry(offline).current_record(CLF)
    assert record is not None and record.waiting == {"REFUND": 3}
    [note] = [n for n in notifications() if n.get("outcome") == "promoted"]
    assert note["waiting"] == ["label 'REFUND': 3 of 10 documents"]

    more = datagen.generate(40, seed=5) + refund_rows(12, start=3)
    assert offline.stack.upload("train/new/more.csv", datagen.to_csv(more))["status"] == "SUCCEEDED"

    second = registry(offline).current_dataset(CLF)
    assert second is not None and second.waiting == {} and second.label_counts["REFUND"] == 15
    newest = models(offline)[-1]
    assert newest.dataset_version == second.version and newest.status == "active"


def shifted(tickets: list[datagen.Ticket], source: str = "BILLING", target: str = "SHIPPING") -> bytes:
    """A subtly poisoned batch: one label's rows relabelled as another, the other labels right."""
    return datagen.to_csv([datagen.Ticket(target if t.label == source else t.label, t.text) for t in tickets])


def test_a_batch_whose_challenger_loses_is_held_and_the_next_clean_batch_is_promoted_without_it(
    offline: Offline,
) -> None:
    """Given a champion, when a batch that relabels every BILLING ticket as SHIPPING trains a challenger,
    then the challenger is worse beyond chance (BILLING's recall collapses), the champion stays, and the
    batch is held; when a clean batch follows, its challenger trains without the held batch and is
    promoted."""
    assert offline.stack.upload("train/new/first.csv", csv_rows(75, seed=1))["status"] == "SUCCEEDED"
    champion = offline.stack.active().model_arn

    assert offline.stack.upload("train/new/subtle.csv", shifted(datagen.generate(300, seed=3)))["status"] == (
        "SUCCEEDED"
    )

    _, lost = models(offline)
    assert (lost.status, lost.selection["outcome"]) == ("rejected", "worse")
    assert "BILLING" in lost.selection["reason"] and lost.selection["test"]["recall_drops"]["BILLING"]
    assert offline.stack.active().model_arn == champion
    first, subtle = batches(offline)
    assert (first.status, subtle.status) == ("accepted", "held")
    assert subtle.model_version == lost.version and "lost" in subtle.reason
    assert subtle.guard is not None and subtle.guard["held"] is False  # the guard let it through

    assert offline.stack.upload("train/new/clean.csv", csv_rows(400, seed=2))["status"] == "SUCCEEDED"

    newest = models(offline)[-1]
    assert (newest.status, newest.selection["outcome"]) == ("active", "better")
    record = registry(offline).dataset(CLF, str(newest.dataset_version))
    assert record is not None and subtle.batch_id not in (record.batches or [])
    assert record.dataset.documents <= 475
    assert [b.status for b in batches(offline)] == ["accepted", "held", "accepted"]


def calls(env: Offline, function: str) -> int:
    return sum(1 for name, _ in env.router.calls if name == function)


def test_the_guard_holds_a_mislabelled_batch_before_training_and_a_clean_batch_after_it_is_promoted(
    offline: Offline, notifications: Any
) -> None:
    """Given a champion, when the demo's mislabelled batch (every label shifted) arrives, then the guard
    holds it before any training starts, with a report naming the moves and the most suspicious rows;
    when a clean batch follows, it trains without the held one and is promoted."""
    assert offline.stack.upload("train/new/first.csv", csv_rows(75, seed=1))["status"] == "SUCCEEDED"
    trainings = calls(offline, "StartModelBuildingFunction")
    harmful = datagen.to_csv(datagen.mislabel(datagen.generate(600, seed=3)))

    result = offline.stack.upload("train/new/harmful.csv", harmful)

    assert result["status"] == "SUCCEEDED"
    assert calls(offline, "StartModelBuildingFunction") == trainings  # no training paid for
    assert len(models(offline)) == 1
    _, held = batches(offline)
    assert held.status == "held" and "guard" in held.reason
    assert held.guard is not None and held.guard["held"] and held.guard["agreement"] < 0.2
    report = read(offline, str(held.report_uri))
    assert report["moves"]["BILLING"] and len(report["suspicious"]) == 10 and report["p_value"] < 1e-6
    [note] = [n for n in notifications() if n.get("outcome") == "held"]
    assert note["held"][0]["batch"] == held.batch_id and "→" in note["held"][0]["moves"]
    assert registry(offline).lock_holder(CLF) is None

    assert offline.stack.upload("train/new/clean.csv", csv_rows(400, seed=2))["status"] == "SUCCEEDED"

    newest = models(offline)[-1]
    assert (newest.status, newest.selection["outcome"]) == ("active", "better")
    record = registry(offline).dataset(CLF, str(newest.dataset_version))
    assert record is not None and held.batch_id not in (record.batches or [])
    assert [b.status for b in batches(offline)] == ["accepted", "held", "accepted"]


def upload_entities(env: Offline, folder: str, documents: list[entitygen.Document]) -> dict[str, Any]:
    text, annotations = entitygen.to_files(documents)
    env.stack.put(f"train/new/{folder}/documents.txt", text)
    return env.stack.upload(f"train/new/{folder}/annotations.csv", annotations)


def test_entity_batch_with_swapped_types_is_held_and_a_clean_one_after_it_is_promoted(
    offline: Offline,
) -> None:
    """Given a recognizer, when a batch whose entity types are rotated (COMPANY → PERSON → TICKER) arrives,
    then the guard holds it before training (the report names the moves); when a clean batch follows, a
    recognizer trained without it is promoted."""
    test_documents, test_annotations = entitygen.to_files(entitygen.generate(80, seed=99))
    offline.stack.put("test/entities/documents.txt", test_documents)
    offline.stack.put("test/entities/annotations.csv", test_annotations)
    assert upload_entities(offline, "first", entitygen.weak_start(45, seed=1))["status"] == "SUCCEEDED"
    trainings = calls(offline, "StartModelBuildingFunction")

    swapped = entitygen.mislabel(entitygen.generate(200, seed=3))
    assert upload_entities(offline, "swapped", swapped)["status"] == "SUCCEEDED"

    assert calls(offline, "StartModelBuildingFunction") == trainings
    _, held = batches(offline, NER)
    assert held.status == "held" and held.guard is not None and held.guard["agreement"] < 0.3
    report = read(offline, str(held.report_uri))
    assert report["moves"]["PERSON"].get("COMPANY") and report["suspicious"]  # companies called PERSON

    assert upload_entities(offline, "clean", entitygen.generate(300, seed=2))["status"] == "SUCCEEDED"

    first, newest = models(offline, NER)
    assert (first.status, newest.status, newest.selection["outcome"]) == ("retired", "active", "better")
    record = registry(offline).dataset(NER, str(newest.dataset_version))
    assert record is not None and held.batch_id not in (record.batches or [])


def endpoints(env: Offline) -> list[dict[str, Any]]:
    client = boto3.client("comprehend", endpoint_url=env.comprehend.url, region_name="us-east-1")
    return list(client.list_endpoints()["EndpointPropertiesList"])


def held_by_the_guard(env: Offline) -> BatchRecord:
    """A champion on 75 tickets, then the demo's mislabelled batch: held by the guard."""
    assert env.stack.upload("train/new/first.csv", csv_rows(75, seed=1))["status"] == "SUCCEEDED"
    harmful = datagen.to_csv(datagen.mislabel(datagen.generate(600, seed=3)))
    assert env.stack.upload("train/new/harmful.csv", harmful)["status"] == "SUCCEEDED"
    held = batches(env)[-1]
    assert held.status == "held"
    return held


def test_readmit_returns_a_held_batch_to_training_at_once(offline: Offline) -> None:
    """Given a batch the guard held, when a user readmits it, then it is pending again (history says who
    and why), the same execution trains on it (the guard does not test it again), and its challenger's
    outcome settles it: here it loses, so it is held again, by the comparison this time."""
    held = held_by_the_guard(offline)
    trainings = calls(offline, "StartModelBuildingFunction")

    result = offline.stack.change_batch(CLF, held.batch_id, "readmit", by="ana", reason="checked by hand")

    assert result["status"] == "SUCCEEDED"
    assert calls(offline, "StartModelBuildingFunction") == trainings + 1
    again = registry(offline).batch(CLF, held.batch_id)
    assert again is not None
    readmitted = [h for h in again.history if h["status"] == "pending"][-1]
    assert (readmitted["by"], readmitted["reason"]) == ("ana", "readmitted by ana: checked by hand")
    challenger = models(offline)[-1]
    dataset = registry(offline).dataset(CLF, str(challenger.dataset_version))
    assert dataset is not None and held.batch_id in (dataset.batches or [])
    assert (challenger.status, again.status) == ("rejected", "held") and "lost" in str(again.reason)


def test_drop_writes_a_dataset_version_without_the_batch_and_keeps_the_old_versions(offline: Offline) -> None:
    """Given two accepted batches, when a user drops the first, then it is dropped (kept, never trained
    on), a new current dataset version holds only the second batch's rows, and the version that held both
    is unchanged; the next upload trains without the dropped rows."""
    assert offline.stack.upload("train/new/first.csv", csv_rows(75, seed=1))["status"] == "SUCCEEDED"
    assert offline.stack.upload("train/new/second.csv", csv_rows(400, seed=2))["status"] == "SUCCEEDED"
    first, second = batches(offline)
    before = registry(offline).current_record(CLF)
    assert before is not None

    result = offline.stack.change_batch(CLF, first.batch_id, "drop", by="ana", reason="exported twice")

    assert result["status"] == "SUCCEEDED"
    dropped = registry(offline).batch(CLF, first.batch_id)
    assert dropped is not None and dropped.status == "dropped" and "ana" in str(dropped.reason)
    after = registry(offline).current_record(CLF)
    assert after is not None and after.version != before.version
    assert (after.batches, after.without) == ([second.batch_id], [first.batch_id])
    assert after.dataset.documents == 400 and after.parent == before.version
    unchanged = registry(offline).dataset(CLF, before.version)
    assert unchanged is not None and unchanged.batches == [first.batch_id, second.batch_id]
    lineage = read(offline, str(after.lineage_uri))
    assert {part["batch"] for part in lineage["parts"]} == {second.batch_id}

    assert offline.stack.upload("train/new/third.csv", csv_rows(50, seed=4))["status"] == "SUCCEEDED"
    newest = registry(offline).dataset(CLF, str(models(offline)[-1].dataset_version))
    assert newest is not None and first.batch_id not in (newest.batches or [])


def test_rollback_serves_the_earlier_version_with_a_consistent_pointer_and_registry(
    offline: Offline, notifications: Any
) -> None:
    """Given a second model promoted over a first, when a user rolls back to the first (holding the
    batches after it), then an endpoint serving the first model is IN_SERVICE and the pointer names both,
    the registry has the first active and the second retired with who and why, the rollback is recorded,
    the replaced endpoint is deleted, the later batch is held, and the lock is free."""
    assert offline.stack.upload("train/new/first.csv", csv_rows(75, seed=1))["status"] == "SUCCEEDED"
    assert offline.stack.upload("train/new/second.csv", csv_rows(400, seed=2))["status"] == "SUCCEEDED"
    first, second = models(offline)
    replaced_endpoint = offline.stack.active().endpoint_arn

    result = offline.stack.rollback(
        CLF, first.version, by="ana", reason="misroutes refunds", hold_batches_after=True
    )

    assert result["status"] == "SUCCEEDED", result.get("cause")
    active = offline.stack.active()
    assert active.model_arn == first.model_arn and active.endpoint_arn != replaced_endpoint
    [serving] = endpoints(offline)
    assert (serving["EndpointArn"], serving["ModelArn"], serving["Status"]) == (
        active.endpoint_arn,
        first.model_arn,
        "IN_SERVICE",
    )
    back, retired = models(offline)
    assert (back.status, back.endpoint_arn) == ("active", active.endpoint_arn)
    assert (
        retired.status == "retired"
        and "rolled back to" in str(retired.reason)
        and "ana" in str(retired.reason)
    )
    [record] = registry(offline).rollbacks(CLF)
    assert (record.version, record.replaced, record.by, record.reason) == (
        first.version,
        second.version,
        "ana",
        "misroutes refunds",
    )
    assert registry(offline).active_dataset_version(CLF) == first.dataset_version
    assert [b.status for b in batches(offline)] == ["accepted", "held"] and record.held_batches
    assert registry(offline).lock_holder(CLF) is None
    assert any(n.get("outcome") == "rolled_back" for n in notifications())


def test_rollback_of_the_entity_recognizer_in_place(tmp_path: Path) -> None:
    """Given UPDATE_IN_PLACE and two recognizers, when a user rolls back to the first, then the active
    endpoint is updated to serve it (no new endpoint), and pointer and registry agree."""
    with running(tmp_path / "comprehend", {"DeploymentStrategy": "UPDATE_IN_PLACE"}) as env:
        documents, annotations = entitygen.to_files(entitygen.generate(80, seed=99))
        env.stack.put("test/entities/documents.txt", documents)
        env.stack.put("test/entities/annotations.csv", annotations)
        assert upload_entities(env, "first", entitygen.weak_start(45, seed=1))["status"] == "SUCCEEDED"
        assert upload_entities(env, "second", entitygen.generate(300, seed=2))["status"] == "SUCCEEDED"
        first, second = models(env, NER)
        assert second.status == "active"
        endpoint = env.stack.active(NER).endpoint_arn

        result = env.stack.rollback(NER, first.version, by="ana", reason="regression on tickers")

        assert result["status"] == "SUCCEEDED", result.get("cause")
        assert env.stack.active(NER).model_arn == first.model_arn
        assert env.stack.active(NER).endpoint_arn == endpoint
        [serving] = endpoints(env)
        assert (serving["EndpointArn"], serving["ModelArn"]) == (endpoint, first.model_arn)
        back, retired = models(env, NER)
        assert (back.status, retired.status) == ("active", "retired")
        assert [r.version for r in registry(env).rollbacks(NER)] == [first.version]


def test_a_rollback_to_the_version_in_service_fails_cleanly(offline: Offline) -> None:
    assert offline.stack.upload("train/new/first.csv", csv_rows(75, seed=1))["status"] == "SUCCEEDED"
    [model] = models(offline)

    result = offline.stack.rollback(CLF, model.version)

    assert result["status"] == "FAILED"
    assert offline.stack.active().model_arn == model.model_arn and len(endpoints(offline)) == 1
    assert registry(offline).lock_holder(CLF) is None
