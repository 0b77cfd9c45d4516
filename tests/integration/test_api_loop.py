"""The active-learning loop end to end in the offline stack: classify → review / feedback → training upload.

The template is deployed into moto and the handlers run in-process through the stack's Lambda router,
with the environment the template gives each function. Human review goes through the real boto3
``sagemaker-a2i-runtime`` client to the local A2I runtime (``local/a2i``, reached through
``AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME``): a reviewer's answer writes ``output.json`` to the data bucket
and hands the EventBridge status-change event to ``ProcessReviewFunction``, as the template's rule does.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from comprehend_al import wiring
from comprehend_al.datasets.classification import parse_upload
from comprehend_al.models import ModelKind
from comprehend_al.store.registry import Registry

from local import datagen
from local.a2i.server import A2IService
from local.stack import ACCOUNT, REGION, Offline, running

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
FLOW = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:flow-definition/comprehend-al-review"
PARAMETERS = {
    "ReviewFlowDefinitionArn": FLOW,
    "ReviewStrategy": "least_confidence",
    "ReviewThreshold": "0.99",  # the local engine is rarely this sure: most predictions are "uncertain"
    "ReviewDailyBudget": "50",
    "RetrainBatchSize": "5",
}


# --- fixtures -----------------------------------------------------------------------------------------
def _cold_start_resets() -> list[Any]:
    """This feature's per-process caches, reset when the router switches function environments."""
    return [wiring.reset]


@dataclass
class Loop:
    env: Offline
    a2i: A2IService
    processed: list[tuple[Any, str | None]]  # (result, error) of each ProcessReview invocation


@pytest.fixture
def loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Loop]:
    with running(tmp_path / "comprehend", PARAMETERS) as env:
        env.router.cold_start_hooks.extend(_cold_start_resets())
        env.stack.put("test/classifier/test.csv", datagen.to_csv(datagen.generate(150, seed=99)))
        processed: list[tuple[Any, str | None]] = []
        a2i = A2IService(
            tmp_path / "a2i",
            output_bucket=env.stack.bucket,
            output_prefix="review/output/",
            s3_client_factory=lambda: boto3.client("s3", region_name=REGION),
            on_status_change=lambda event: processed.append(
                env.router.invoke("ProcessReviewFunction", event)
            ),
            flow_definitions=[FLOW],
        )
        with a2i:
            assert a2i.url is not None
            monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME", a2i.url)
            yield Loop(env, a2i, processed)


# --- helpers ------------------------------------------------------------------------------------------
def api_event(function_dir: str, sample: str, body: Any) -> dict[str, Any]:
    """The API Gateway HTTP API (v2) sample event of ``events/`` with another JSON body."""
    event = json.loads((EVENTS / function_dir / sample).read_text())
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    return copy.deepcopy(event)


def call(env: Offline, function: str, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    result, error = env.router.invoke(function, event)
    assert error is None, result
    return int(result["statusCode"]), json.loads(result["body"])


def classify(env: Offline, text: str) -> tuple[int, dict[str, Any]]:
    return call(env, "ClassifyFunction", api_event("classify", "text.json", {"text": text}))


def select_review(env: Offline) -> dict[str, Any]:
    """The scheduled SelectReview, invoked with its sample event."""
    result, error = env.router.invoke(
        "SelectReviewFunction", json.loads((EVENTS / "select_review" / "scheduled.json").read_text())
    )
    assert error is None, result
    return dict(result)


def feedback(env: Offline, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return call(env, "FeedbackFunction", api_event("feedback", "by_text.json", body))


def keys(env: Offline, prefix: str) -> list[str]:
    s3 = boto3.client("s3", region_name=REGION)
    return sorted(
        o["Key"] for o in s3.list_objects_v2(Bucket=env.stack.bucket, Prefix=prefix).get("Contents", [])
    )


def predictions_table(env: Offline) -> Any:
    return boto3.resource("dynamodb", region_name=REGION).Table(env.stack.outputs["PredictionsTableName"])


def train_first_model(env: Offline) -> None:
    result = env.stack.upload("train/new/first.csv", datagen.to_csv(datagen.generate(100, seed=1)))
    assert result["status"] == "SUCCEEDED"


# --- tests --------------------------------------------------------------------------------------------
def test_classify_before_any_model_is_503_and_bad_requests_are_400(loop: Loop) -> None:
    """Given no active model, when a text is classified, then 503 model_not_ready; a malformed body is a 400
    naming the field, whatever the model state."""
    env = loop.env
    status, body = classify(env, "where is my parcel")
    assert (status, body["error"]["code"]) == (503, "model_not_ready")

    status, body = call(env, "ClassifyFunction", api_event("classify", "text.json", {"txt": "x"}))
    assert status == 400 and body["error"]["field"] in {"text", "txt"}
    status, body = call(env, "ClassifyFunction", api_event("classify", "text.json", "not json"))
    assert (status, body["error"]["code"]) == (400, "invalid_json")
    status, body = classify(env, "x" * 10_001)
    assert (status, body["error"]["code"], body["error"]["field"]) == (413, "text_too_large", "text")


def test_the_loop_from_classification_to_a_training_upload(loop: Loop) -> None:
    """Given a first model trained from an upload, when texts are classified, reviewed and corrected, then
    predictions are recorded, the uncertain one is queued and the scheduled selection sends it to A2I with the
    model's labels (once per text), feedback is checked
    against them, and the fifth buffered label writes exactly one upload that the lifecycle trains on."""
    env = loop.env
    train_first_model(env)
    active_version = env.stack.active().version
    labels = sorted(datagen.TOPICS)

    # classify: scores, model version, recorded (without its text), queued for review
    text = 'I was charged twice, and the parcel with my "new" router never arrived'
    status, prediction = classify(env, text)
    assert status == 200, prediction
    assert sorted(c["Name"] for c in prediction["classes"]) == labels
    assert prediction["label"] == prediction["classes"][0]["Name"]
    assert prediction["score"] == max(c["Score"] for c in prediction["classes"])
    assert prediction["model_version"] == active_version
    assert prediction["review"]["reason"] == "queued", prediction["review"]
    pid = prediction["prediction_id"]
    assert loop.a2i.pending() == []

    # the scheduled selection picks it: one human loop, with its id and the model's labels as choices
    selection = select_review(env)
    assert (selection["candidates"], selection["started"]) == (1, [pid]), selection
    items = predictions_table(env).query(
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": f"PRED#{pid}"}
    )["Items"]
    stored = {i["sk"]: i for i in items}
    assert stored["PREDICTION"]["model_version"] == active_version and "expires_at" in stored["PREDICTION"]
    assert "text" not in stored["PREDICTION"] and stored["REVIEW"]["text"] == text
    [pending] = loop.a2i.pending()
    content = pending["inputContent"]
    assert pending["flowDefinitionArn"] == FLOW
    assert pending["humanLoopName"] == stored["REVIEW"]["human_loop_name"]
    assert [i["id"] for i in content["items"]] == [pid] and content["items"][0]["text"] == text
    assert content["labels"] == labels

    # the same text, classified again, is not reviewed twice
    status, again = classify(env, "  " + text + " ")
    assert status == 200 and again["review"]["reason"] == "queued"
    assert select_review(env)["skipped"]["duplicate"] == 1 and len(loop.a2i.pending()) == 1

    # feedback: known label buffered; unknown label 400; unknown prediction 404
    status, body = feedback(env, {"prediction_id": pid, "label": "SHIPPING"})
    assert (status, body["pending"], body["upload"]) == (202, 1, None), body
    status, body = feedback(env, {"prediction_id": pid, "label": "NOT_A_LABEL"})
    assert (status, body["error"]["code"], body["error"]["field"]) == (400, "unknown_label", "label")
    status, body = feedback(env, {"prediction_id": "no-such-prediction", "label": "SHIPPING"})
    assert (status, body["error"]["code"]) == (404, "prediction_not_found")

    # a reviewer answers: output.json in the data bucket, the Completed event to ProcessReview (by id)
    output_uri = loop.a2i.complete(pending["humanLoopName"], {pid: "BILLING"})
    assert output_uri.startswith(f"s3://{env.stack.bucket}/review/output/comprehend-al-review/")
    [(reviewed, error)] = loop.processed
    assert error is None, reviewed
    assert (reviewed["reviewed"], reviewed["pending"], reviewed["flush"]) == (1, 2, None)

    # feedback by text (tricky CSV) until the batch size (5) is reached: exactly one upload
    tricky = ['a refund, "please"', "my login\nfails again", "tracking number, where?"]
    for i, (t, label) in enumerate(zip(tricky, ["BILLING", "TECHNICAL", "SHIPPING"], strict=True)):
        status, body = feedback(env, {"text": t, "label": label})
        assert status == 202, body
        assert (body["upload"] is None) == (i < 2), body
    assert keys(env, "train/new/") == [body["upload"]]
    upload = body["upload"]
    assert upload.startswith("train/new/feedback-") and upload.endswith(".csv")
    data = (
        boto3.client("s3", region_name=REGION).get_object(Bucket=env.stack.bucket, Key=upload)["Body"].read()
    )
    rows = parse_upload(data, file=upload, multi_label=False)
    # the review (BILLING) was processed after the user's SHIPPING correction of the same text: newest wins
    assert sorted((r.labels[0], r.text) for r in rows) == sorted(
        [("BILLING", text), *zip(["BILLING", "TECHNICAL", "SHIPPING"], tricky, strict=True)]
    )

    # the lifecycle accepts the upload (as EventBridge would deliver it)
    head = boto3.client("s3", region_name=REGION).head_object(Bucket=env.stack.bucket, Key=upload)
    execution = env.stack.start_execution(env.stack.object_created_event(upload, len(data), dict(head)))
    result = env.stack.wait(execution)
    assert result["status"] == "SUCCEEDED", result
    assert keys(env, "quarantine/") == [] and keys(env, "train/new/") == []
    current = Registry(env.stack.outputs["RegistryTableName"]).current_dataset(ModelKind.CLASSIFIER)
    assert current is not None and current.added == 4
