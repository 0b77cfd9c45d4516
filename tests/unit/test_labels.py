"""The label buffer, the retraining policy and feedback validation.

DynamoDB and S3 run in moto in this process (no socket); the Comprehend endpoint and SSM are fakes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from comprehend_al.api import parse_request
from comprehend_al.aws.s3 import Bucket
from comprehend_al.aws.ssm import CachedParameters
from comprehend_al.datasets.classification import parse_upload
from comprehend_al.errors import (
    InvalidField,
    ModelNotReady,
    PredictionNotFound,
    TextNotRetained,
    UnknownLabel,
)
from comprehend_al.feedback import FeedbackRequest, feedback
from comprehend_al.labels import LabelDeps, buffer_rows, flush_pending, flush_scheduled
from comprehend_al.predict import ClassifyRequest, PredictDeps, classify
from comprehend_al.settings import LoopSettings, Settings
from comprehend_al.store.label_buffer import LabelBuffer, LabelRow, csv_of, upload_key
from comprehend_al.store.predictions import PredictionStore
from comprehend_al.store.registry import Registry
from comprehend_al.store.review_gate import ReviewGate
from moto import mock_aws

from tests.fakes import create_key_table

BUCKET = "data"
BUFFER = "label-buffer"
PREDICTIONS = "predictions"
REGISTRY = "registry"
PREFIX = "/comprehend-al"
ENDPOINT = "arn:aws:comprehend:us-east-1:123456789012:document-classifier-endpoint/comprehend-al-v1"
MODEL = "arn:aws:comprehend:us-east-1:123456789012:document-classifier/comprehend-al-classifier/version/v1"
TRICKY = ["comma, inside", 'a "quoted" word', "two\nlines", "  padded  ", 'all, of "it"\r\nhere']


# --- CSV ------------------------------------------------------------------------------------------------
def test_csv_escapes_commas_quotes_and_newlines_one_record_per_row() -> None:
    """Given texts with commas, quotes and line breaks, when written, then every record is RFC 4180 quoted,
    records are separated, and parse_upload reads back exactly the same labels and texts."""
    rows = [
        LabelRow(
            row_id=f"r{i}", labels=("BILLING",), text=t, source="feedback", created_at=f"2025-01-0{i + 1}"
        )
        for i, t in enumerate(TRICKY)
    ]

    data = csv_of(rows)

    assert data.startswith(b'BILLING,"comma, inside"\nBILLING,"a ""quoted"" word"\nBILLING,"two\nlines"\n')
    assert data.endswith(b"\n")
    parsed = parse_upload(data, file="feedback.csv", multi_label=False)
    assert [(r.labels, r.text) for r in parsed] == [(("BILLING",), t) for t in TRICKY]


def test_one_upload_holds_each_text_once_with_the_latest_label() -> None:
    """Given a review and a later user correction of the same text (whitespace aside), when written, then
    the upload holds that text once, with the correction (parse_upload refuses one text with two labels)."""
    rows = [
        LabelRow(
            row_id="review-p1", labels=("BILLING",), text="my  box", source="review", created_at="2025-01-01"
        ),
        LabelRow(
            row_id="other", labels=("TECHNICAL",), text="other", source="review", created_at="2025-01-02"
        ),
        LabelRow(
            row_id="feedback-p1",
            labels=("SHIPPING",),
            text="my box ",
            source="feedback",
            created_at="2025-01-03",
        ),
    ]

    data = csv_of(rows)

    assert data == b'TECHNICAL,other\nSHIPPING,"my box "\n'
    assert len(parse_upload(data, file="f.csv", multi_label=False)) == 2


def test_multi_label_rows_are_joined_with_the_delimiter() -> None:
    rows = [LabelRow(row_id="r", labels=("A", "B"), text="x", source="review")]
    assert csv_of(rows, delimiter="|") == b"A|B,x\n"


def test_upload_key_names_the_time_and_the_row_count() -> None:
    key = upload_key("train/new/", datetime(2025, 5, 1, 12, 30, 5, 123, tzinfo=UTC), 100)
    assert key == "train/new/feedback-20250501T123005000123Z-100.csv"


# --- moto fixtures --------------------------------------------------------------------------------------
@pytest.fixture
def aws() -> Iterator[Any]:
    with mock_aws():
        resource = boto3.resource("dynamodb", region_name="us-east-1")
        for name in (BUFFER, PREDICTIONS, REGISTRY):
            create_key_table(resource, name)
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        yield resource


class Params:
    """SSM values under the prefix (the CachedParameters fetch function), with a log of forced reads."""

    def __init__(self, **values: str) -> None:
        self.values = {f"{PREFIX}/{k.replace('__', '/').replace('_', '-')}": v for k, v in values.items()}
        self.forced: list[str] = []

    def __call__(self, name: str, max_age: int, force: bool) -> str:
        if force:
            self.forced.append(name)
        if name not in self.values:
            from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
            from botocore.exceptions import ClientError

            try:
                raise ClientError({"Error": {"Code": "ParameterNotFound", "Message": name}}, "GetParameter")
            except ClientError as error:
                raise GetParameterError(str(error)) from error
        return self.values[name]


def settings(**overrides: Any) -> Settings:
    return Settings.model_validate(
        {"DATA_BUCKET": BUCKET, "REGISTRY_TABLE": REGISTRY, "PARAMETER_PREFIX": PREFIX, **overrides}
    )


def label_deps(resource: Any, params: Params, **loop: Any) -> LabelDeps:
    return LabelDeps(
        settings=settings(),
        loop=LoopSettings.model_validate(
            {"LABEL_BUFFER_TABLE": BUFFER, "PREDICTIONS_TABLE": PREDICTIONS, **loop}
        ),
        buffer=LabelBuffer(BUFFER, resource),
        bucket=Bucket(BUCKET, boto3.client("s3", region_name="us-east-1")),
        params=CachedParameters(PREFIX, 60, params),
    )


def uploads() -> list[str]:
    s3 = boto3.client("s3", region_name="us-east-1")
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def body(key: str) -> bytes:
    return bytes(
        boto3.client("s3", region_name="us-east-1").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    )


def row(i: int, text: str | None = None, label: str = "BILLING") -> LabelRow:
    return LabelRow(row_id=f"feedback-{i:04d}", labels=(label,), text=text or f"text {i}", source="feedback")


# --- batching ----------------------------------------------------------------------------------------
def test_rows_below_the_batch_size_stay_buffered(aws: Any) -> None:
    deps = label_deps(aws, Params(retrain_batch_size="5"))

    pending, flush = buffer_rows([row(i) for i in range(4)], deps)

    assert (pending, flush) == (4, None)
    assert uploads() == []


def test_reaching_the_batch_size_writes_exactly_one_upload_with_every_row(aws: Any) -> None:
    """Given a batch size of 5 and 4 buffered rows (some with tricky texts), when the 5th arrives, then one
    upload under train/new/ holds the 5 rows, readable by parse_upload, and the buffer is empty."""
    deps = label_deps(aws, Params(retrain_batch_size="5"))
    buffer_rows([row(i, TRICKY[i]) for i in range(4)], deps)

    pending, flush = buffer_rows([row(4, TRICKY[4])], deps)

    assert flush is not None and flush.reason == "written" and flush.rows == 5
    assert pending == 0
    [key] = uploads()
    assert key == flush.key and key.startswith("train/new/feedback-") and key.endswith("-5.csv")
    assert sorted(r.text for r in parse_upload(body(key), file=key, multi_label=False)) == sorted(TRICKY)
    assert deps.buffer.pending_count() == 0


def test_a_repeated_row_id_replaces_the_pending_row(aws: Any) -> None:
    """Given a correction of a prediction, when the user corrects it again, then only the latest is kept."""
    deps = label_deps(aws, Params(retrain_batch_size="100"))
    buffer_rows([row(1, "same text", "BILLING")], deps)

    buffer_rows([row(1, "same text", "SHIPPING")], deps)

    assert [(r.labels, r.text) for r in deps.buffer.pending()] == [(("SHIPPING",), "same text")]


def test_scheduled_flush_writes_whatever_is_pending_and_nothing_when_empty(aws: Any) -> None:
    deps = label_deps(aws, Params())
    assert flush_pending(deps).reason == "empty"
    buffer_rows([row(1)], deps)

    result = flush_pending(deps)

    assert result.reason == "written" and result.rows == 1 and len(uploads()) == 1
    assert flush_pending(deps).reason == "empty" and len(uploads()) == 1


def _accept_document(item: str, text: str) -> str:
    """An entity document an annotation loop accepted, waiting under annotation/accepted/."""
    key = f"annotation/accepted/ent-1/{item}.json"
    record = {
        "id": item,
        "text": text,
        "entities": [{"BeginOffset": 0, "EndOffset": 11, "Type": "PERSON"}],
        "loop": "ent-1",
        "at": "2025-05-02T00:00:00+00:00",
    }
    boto3.client("s3", region_name="us-east-1").put_object(Bucket=BUCKET, Key=key, Body=json.dumps(record))
    return key


def test_the_schedule_also_writes_accepted_entity_documents_below_the_batch_size(aws: Any) -> None:
    """Given one entity document accepted by an annotation loop (the batch size is 20) and one buffered
    label, when the schedule runs, then both leave: the label as a CSV upload, the document as one entity
    batch (documents.txt + annotations.csv) under train/new/, and the accepted record is gone."""
    deps = label_deps(aws, Params())
    waiting = _accept_document("d-1", "Lars Brandt joined Marlow Freight in Oslo.")
    buffer_rows([row(1)], deps)

    result = flush_scheduled(deps)

    assert result.labels.reason == "written" and result.labels.rows == 1
    assert result.annotations.reason == "written" and result.annotations.documents == 1
    folder = str(result.annotations.key).rsplit("/", 1)[0] + "/"
    assert folder.startswith("train/new/review-entities-")
    assert body(folder + "documents.txt") == b"Lars Brandt joined Marlow Freight in Oslo.\n"
    assert b"0,0,11,PERSON" in body(folder + "annotations.csv")
    assert waiting not in uploads()
    again = flush_scheduled(deps).as_dict()
    assert (again["reason"], again["annotations"]["reason"]) == ("empty", "empty")


def test_a_failed_label_flush_still_lets_accepted_documents_leave(aws: Any, monkeypatch: Any) -> None:
    """Given the label buffer failing, when the schedule runs, then the accepted document still leaves and
    the error is raised (EventBridge retries; the buffered rows were not lost)."""
    deps = label_deps(aws, Params())
    _accept_document("d-2", "Priya Tanaka spoke in Lagos.")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("DynamoDB throttled")

    monkeypatch.setattr(deps.buffer, "flush", broken)
    with pytest.raises(RuntimeError, match="throttled"):
        flush_scheduled(deps)
    assert any(k.startswith("train/new/review-entities-") for k in uploads())
    assert not any(k.startswith("annotation/accepted/") for k in uploads())


def test_concurrent_flushes_write_each_row_exactly_once(aws: Any) -> None:
    """Given 30 pending rows, when four flushes run at once, then the rows are written exactly once in all
    (a flush that finds the lock taken writes nothing) and none is left behind."""
    deps = label_deps(aws, Params())
    buffer_rows([row(i) for i in range(30)], deps)
    results: list[Any] = []

    def run() -> None:
        results.append(flush_pending(deps))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    while deps.buffer.pending_count():  # a flush that lost the race leaves rows for the next run
        flush_pending(deps)

    texts = [r.text for key in uploads() for r in parse_upload(body(key), file=key, multi_label=False)]
    assert sorted(texts) == sorted(f"text {i}" for i in range(30))


def test_a_row_claimed_by_another_flush_is_not_written_twice(aws: Any) -> None:
    """Given a row claimed by a live flush (it crashed before deleting), when another flush runs, then it
    skips that row; once the claim is stale, the row is flushed (at least once, never lost)."""
    clock = Clock(datetime(2025, 5, 1, tzinfo=UTC))
    deps = label_deps(aws, Params())
    deps.buffer = LabelBuffer(BUFFER, aws, clock=clock, lock_seconds=300)
    buffer_rows([row(1), row(2)], deps)
    assert deps.buffer._claim("feedback-0001", "crashed-flush") is not None

    first = flush_pending(deps)
    clock.now += timedelta(seconds=301)
    second = flush_pending(deps)

    assert (first.rows, second.rows) == (1, 1)
    assert deps.buffer.pending_count() == 0


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


# --- feedback ---------------------------------------------------------------------------------------
class FakeEndpoint:
    def __init__(self, classes: list[dict[str, Any]]) -> None:
        self.classes = classes

    def classify_document(self, **kwargs: Any) -> dict[str, Any]:
        return {"Classes": self.classes}


CLASSES = [
    {"Name": "BILLING", "Score": 0.9},
    {"Name": "SHIPPING", "Score": 0.06},
    {"Name": "TECHNICAL", "Score": 0.04},
]


def predict_deps(aws: Any, params: Params, **loop: Any) -> PredictDeps:
    labels = label_deps(aws, params, **loop)
    return PredictDeps(
        settings=labels.settings,
        loop=labels.loop,
        params=labels.params,
        comprehend=FakeEndpoint(CLASSES),
        store=PredictionStore(PREDICTIONS, aws),
        gate=ReviewGate(PREDICTIONS, aws),
        labels=labels,
        registry=Registry(REGISTRY, aws),
    )


def loop_params(**extra: str) -> Params:
    return Params(
        classifier__active_endpoint_arn=ENDPOINT,
        classifier__active_model_arn=MODEL,
        retrain_batch_size="100",
        **extra,
    )


def test_feedback_with_a_known_label_is_buffered(aws: Any) -> None:
    """Given a stored prediction (text kept), when the user corrects its label with one of the model's
    labels, then the row is buffered with the prediction's text."""
    deps = predict_deps(aws, loop_params(), STORE_PREDICTION_TEXT="true")
    prediction = classify(ClassifyRequest(text="my parcel, it never came"), deps)

    result = feedback(FeedbackRequest(prediction_id=prediction.prediction_id, label="SHIPPING"), deps)

    assert (result.labels, result.pending, result.upload) == (["SHIPPING"], 1, None)
    [buffered] = deps.labels.buffer.pending()
    assert (buffered.labels, buffered.text, buffered.model_version) == (
        ("SHIPPING",),
        "my parcel, it never came",
        "v1",
    )


def test_a_language_lines_correction_trains_that_line(aws: Any) -> None:
    """Given a prediction answered by the Spanish line's model and one by the default line's, when both are
    corrected and the buffer flushes, then each correction is in its own line's upload: the Spanish one
    under train/new/es/ (where the lifecycle takes the es line's data), the other under train/new/."""
    deps = predict_deps(aws, loop_params(), STORE_PREDICTION_TEXT="true")
    spanish = {
        "pk": "PRED#p-es",
        "sk": "PREDICTION",
        "prediction_id": "p-es",
        "model_version": "v3",
        "line": "es",
        "classes": CLASSES,
        "text": "mi paquete nunca llegó",
    }
    deps.store.put(spanish)
    english = classify(ClassifyRequest(text="my parcel, it never came"), deps)

    feedback(FeedbackRequest(prediction_id="p-es", label="SHIPPING"), deps)
    feedback(FeedbackRequest(prediction_id=english.prediction_id, label="SHIPPING"), deps)
    result = flush_pending(deps.labels)

    assert result.rows == 2 and len(result.keys) == 2
    default_key, spanish_key = result.keys
    assert default_key.startswith("train/new/feedback-") and spanish_key.startswith("train/new/es/feedback-")
    assert [r.text for r in parse_upload(body(spanish_key), file=spanish_key, multi_label=False)] == [
        "mi paquete nunca llegó"
    ]
    assert [r.text for r in parse_upload(body(default_key), file=default_key, multi_label=False)] == [
        "my parcel, it never came"
    ]


def test_feedback_with_an_unknown_label_is_refused(aws: Any) -> None:
    deps = predict_deps(aws, loop_params(), STORE_PREDICTION_TEXT="true")
    prediction = classify(ClassifyRequest(text="a text"), deps)

    with pytest.raises(UnknownLabel) as caught:
        feedback(FeedbackRequest(prediction_id=prediction.prediction_id, label="REFUNDS"), deps)

    assert caught.value.field == "label"
    assert deps.labels.buffer.pending_count() == 0


def test_unknown_label_is_accepted_when_new_labels_are_allowed(aws: Any) -> None:
    deps = predict_deps(aws, loop_params(), STORE_PREDICTION_TEXT="true", ALLOW_NEW_LABELS="true")
    prediction = classify(ClassifyRequest(text="a text"), deps)

    result = feedback(FeedbackRequest(prediction_id=prediction.prediction_id, label="REFUNDS"), deps)

    assert result.labels == ["REFUNDS"]


def test_feedback_for_an_unknown_prediction_is_not_found(aws: Any) -> None:
    deps = predict_deps(aws, loop_params())
    with pytest.raises(PredictionNotFound):
        feedback(FeedbackRequest(prediction_id="nope", label="BILLING"), deps)


def test_feedback_by_id_without_kept_text_asks_for_the_text(aws: Any) -> None:
    """Given the default (texts not stored) and a confident prediction, when feedback names only its id,
    then it is refused with text_not_retained; with the text too, it is buffered."""
    deps = predict_deps(aws, loop_params())
    prediction = classify(ClassifyRequest(text="a text"), deps)
    assert "text" not in (deps.store.get(prediction.prediction_id) or {})

    with pytest.raises(TextNotRetained):
        feedback(FeedbackRequest(prediction_id=prediction.prediction_id, label="SHIPPING"), deps)
    result = feedback(
        FeedbackRequest(prediction_id=prediction.prediction_id, text="a text", label="SHIPPING"), deps
    )

    assert result.pending == 1


def test_feedback_by_text_uses_the_active_models_labels_from_the_registry(aws: Any) -> None:
    deps = predict_deps(aws, loop_params())
    registry = aws.Table(REGISTRY)
    registry.put_item(Item={"pk": "MODEL#classifier", "sk": "v1", "dataset_version": "d1"})
    registry.put_item(
        Item={
            "pk": "DATASET#classifier",
            "sk": "d1",
            "dataset": {
                "kind": "classifier",
                "version": "d1",
                "train_uri": "s3://data/datasets/classifier/d1/train.csv",
                "test_uri": "s3://data/test/classifier/test.csv",
                "test_version": "t1",
                "documents": 22,
                "label_counts": {"BILLING": 10, "SHIPPING": 12},
            },
        }
    )

    ok = feedback(FeedbackRequest(text="where is my box", label="SHIPPING"), deps)
    with pytest.raises(UnknownLabel):
        feedback(FeedbackRequest(text="where is my box", label="TECHNICAL"), deps)

    assert ok.pending == 1


def test_feedback_by_text_before_any_model_is_not_ready(aws: Any) -> None:
    deps = predict_deps(aws, Params())
    with pytest.raises(ModelNotReady):
        feedback(FeedbackRequest(text="x", label="BILLING"), deps)


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ("not json", "invalid_json", None),
        ("[1]", "invalid_json", None),
        ("{}", "invalid_request", "text"),
        ('{"text": 3}', "invalid_request", "text"),
        ('{"text": "   "}', "empty_text", "text"),
        ('{"text": "' + "é" * 5001 + '"}', "text_too_large", "text"),
        ('{"text": "x", "extra": 1}', "invalid_request", "extra"),
    ],
)
def test_classify_requests_are_validated(body: str, code: str, field: str | None) -> None:
    with pytest.raises(InvalidField) as caught:
        parse_request(body, ClassifyRequest)
    assert (caught.value.code, caught.value.field) == (code, field)


def test_a_text_of_exactly_ten_thousand_bytes_is_accepted() -> None:
    assert parse_request('{"text": "' + "a" * 10_000 + '"}', ClassifyRequest).text == "a" * 10_000
