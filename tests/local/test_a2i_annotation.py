"""The local A2I runtime's annotation loops: N workers per entity loop, spans checked, stale answers refused.

Through the Python API (automatic annotators) and the annotation page's JSON API (``/annotate/api``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.a2i import A2IService, ConflictException, ValidationException

REGION = "us-east-1"
BUCKET = "annotation-output"
FLOW_ARN = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/comprehend-al-entities"
TEXT = "Acme Corp hired Jane Doe."
CONTENT = {
    "kind": "entities",
    "items": [
        {"id": "d-1", "text": TEXT, "entities": [{"BeginOffset": 0, "EndOffset": 9, "Type": "ORGANIZATION"}]}
    ],
    "types": ["PERSON", "ORGANIZATION"],
}
PERSON = [{"BeginOffset": 16, "EndOffset": 24, "Type": "PERSON"}]


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[A2IService, Any, list[dict[str, Any]]]]:
    events: list[dict[str, Any]] = []
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        with A2IService(tmp_path / "a2i", output_bucket=BUCKET, on_status_change=events.append) as a2i:
            a2i.start_human_loop(
                {
                    "HumanLoopName": "ent-1",
                    "FlowDefinitionArn": FLOW_ARN,
                    "HumanLoopInput": {"InputContent": json.dumps(CONTENT)},
                }
            )
            yield a2i, s3, events


def _post(url: str, body: Any) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_an_entity_loop_completes_when_two_workers_answered_with_both_answers_in_output(
    service: tuple[A2IService, Any, list[dict[str, Any]]],
) -> None:
    a2i, s3, events = service
    # Given one worker's answer: the loop still waits for a second
    assert a2i.complete("ent-1", {"d-1": PERSON}, worker_id="alice") == ""
    assert a2i.describe_human_loop("ent-1")["HumanLoopStatus"] == "InProgress" and events == []
    # When a second worker answers, the loop completes and output.json holds both answers
    uri = a2i.complete("ent-1", {"d-1": []}, worker_id="bob")
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    output = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert [(a["workerId"], a["answerContent"]) for a in output["humanAnswers"]] == [
        ("alice", {"entities": {"d-1": PERSON}}),
        ("bob", {"entities": {"d-1": []}}),
    ]
    assert [e["detail"]["humanLoopStatus"] for e in events] == ["Completed"]


def test_the_same_worker_twice_or_a_completed_loop_is_a_conflict(
    service: tuple[A2IService, Any, list[dict[str, Any]]],
) -> None:
    a2i, _, _ = service
    a2i.complete("ent-1", {"d-1": PERSON}, worker_id="alice")
    with pytest.raises(ConflictException, match="alice has already answered"):
        a2i.complete("ent-1", {"d-1": []}, worker_id="alice")
    a2i.complete("ent-1", {"d-1": PERSON}, worker_id="bob")
    with pytest.raises(ConflictException, match="ent-1 is Completed"):
        a2i.complete("ent-1", {"d-1": PERSON}, worker_id="carol")


def test_offsets_outside_the_text_are_refused_and_nothing_is_recorded(
    service: tuple[A2IService, Any, list[dict[str, Any]]],
) -> None:
    a2i, _, _ = service
    with pytest.raises(ValidationException, match="item d-1, span 1: offsets 16-99"):
        a2i.complete(
            "ent-1", {"d-1": [{"BeginOffset": 16, "EndOffset": 99, "Type": "PERSON"}]}, worker_id="al"
        )
    assert a2i.answered_by(a2i.describe("ent-1")) == []


def test_the_page_api_answers_409_to_a_stale_page_and_400_to_bad_offsets(
    service: tuple[A2IService, Any, list[dict[str, Any]]],
) -> None:
    a2i, _, _ = service
    url = f"{a2i.url}/annotate/api/tasks/ent-1"
    bad = {"d-1": [{"BeginOffset": 3, "EndOffset": 1, "Type": "PERSON"}]}
    status, body = _post(url, {"worker": "alice", "answers": bad})
    assert status == 400 and "offsets 3-1" in body["message"]
    assert _post(url, {"worker": "alice", "answers": {"d-1": PERSON}}) == (
        200,
        {"status": "InProgress", "output": None},
    )
    status, body = _post(url, {"worker": "alice", "answers": {"d-1": []}})
    assert status == 409 and "alice has already answered" in body["message"] and "stale" in body["message"]
    status, body = _post(url, {"worker": "bob", "answers": {"d-1": PERSON}})
    assert status == 200 and body["status"] == "Completed"
    status, body = _post(url, {"worker": "carol", "answers": {"d-1": PERSON}})
    assert status == 409 and "ent-1 is Completed" in body["message"]
    assert _post(f"{a2i.url}/annotate/api/tasks/nope", {"worker": "x", "answers": {}})[0] == 404


def test_the_task_list_leaves_out_what_the_worker_answered_and_the_review_page_leaves_out_entity_loops(
    service: tuple[A2IService, Any, list[dict[str, Any]]],
) -> None:
    a2i, _, _ = service
    a2i.complete("ent-1", {"d-1": PERSON}, worker_id="alice")
    with urllib.request.urlopen(f"{a2i.url}/annotate/api/tasks?worker=alice") as response:
        assert json.loads(response.read())["tasks"] == []
    with urllib.request.urlopen(f"{a2i.url}/annotate/api/tasks?worker=bob") as response:
        [task] = json.loads(response.read())["tasks"]
    assert (task["name"], task["kind"], task["required"], task["answeredBy"]) == (
        "ent-1",
        "entities",
        2,
        ["alice"],
    )
    with urllib.request.urlopen(f"{a2i.url}/review") as response:
        assert "ent-1" not in response.read().decode()


def test_the_page_builds_every_text_with_text_nodes_only() -> None:
    # Given the page's script: task data (document text, worker names, guidelines) must never be parsed as
    # HTML, so the script has no HTML sink at all (the browser test also runs a <script> document)
    script = (Path(__file__).resolve().parents[2] / "web" / "annotate" / "annotate.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink
