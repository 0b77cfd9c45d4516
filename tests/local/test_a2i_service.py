"""The local A2I runtime: boto3 round trips of every operation, the review page, output.json, events."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from local.a2i import A2IService, ConflictException, ResourceNotFoundException, ValidationException

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "a2i-review-output"
FLOW = "classifier-review"
FLOW_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:flow-definition/{FLOW}"
OTHER_FLOW_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:flow-definition/other-flow"
LABELS = ["BILLING", "late delivery", "re-fund"]
SERVICE_MODEL = botocore.session.get_session().get_service_model("sagemaker-a2i-runtime")

ServiceFactory = Callable[..., A2IService]


# --- fixtures ------------------------------------------------------------------------------------------
@pytest.fixture
def a2i_s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def events() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def make_a2i(a2i_s3: Any, tmp_path: Path, events: list[dict[str, Any]]) -> Iterator[ServiceFactory]:
    """Start services whose every API answer is checked against botocore's output shapes at teardown."""
    started: list[A2IService] = []
    problems: list[str] = []

    def factory(state_dir: Path | None = None, **kwargs: Any) -> A2IService:
        kwargs.setdefault("on_status_change", events.append)
        service = A2IService(state_dir or tmp_path / "a2i", output_bucket=BUCKET, **kwargs)
        original = service.dispatch

        def dispatch(method: str, path: str, query: str, body: bytes) -> tuple[int, dict[str, Any]]:
            status, payload = original(method, path, query, body)
            problems.extend(_shape_problems(method, path, status, payload))
            return status, payload

        service.dispatch = dispatch  # type: ignore[method-assign]
        service.start()
        started.append(service)
        return service

    yield factory
    for service in started:
        service.stop()
    assert problems == []


@pytest.fixture
def service(make_a2i: ServiceFactory) -> A2IService:
    return make_a2i()


@pytest.fixture
def a2i(service: A2IService, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A boto3 client that finds the service through the environment only, with no retries."""
    assert service.url is not None
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME", service.url)
    return boto3.client(
        "sagemaker-a2i-runtime", region_name=REGION, config=Config(retries={"total_max_attempts": 1})
    )


# --- helpers -------------------------------------------------------------------------------------------
def loop_input(count: int = 2, text: str = "Where is my parcel?") -> dict[str, Any]:
    return {
        "items": [
            {
                "id": f"doc-{number}",
                "text": f"{text} #{number}",
                "scores": [{"Name": "late delivery", "Score": 0.61}, {"Name": "BILLING", "Score": 0.39}],
            }
            for number in range(count)
        ],
        "labels": LABELS,
        "modelVersion": "v3",
    }


def start(a2i: Any, name: str, content: dict[str, Any] | None = None, flow: str = FLOW_ARN) -> str:
    response = a2i.start_human_loop(
        HumanLoopName=name,
        FlowDefinitionArn=flow,
        HumanLoopInput={"InputContent": json.dumps(content if content is not None else loop_input())},
    )
    return str(response["HumanLoopArn"])


def error_of(call: Callable[[], Any]) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]


def read_output(s3: Any, uri: str) -> dict[str, Any]:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    result: dict[str, Any] = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return result


def http(service: A2IService, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(f"{service.url}{path}", data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


_OPERATIONS = {
    ("POST", "/human-loops"): "StartHumanLoop",
    ("GET", "/human-loops"): "ListHumanLoops",
    ("POST", "/human-loops/stop"): "StopHumanLoop",
}


def _shape_problems(method: str, path: str, status: int, payload: dict[str, Any]) -> list[str]:
    """What in an answer botocore's model does not allow (missing required or unknown members)."""
    if status != 200:
        ok = set(payload) == {"__type", "Message"}
        return [] if ok else [f"{method} {path}: malformed error {payload}"]
    name = (
        _OPERATIONS.get((method, path)) or {"GET": "DescribeHumanLoop", "DELETE": "DeleteHumanLoop"}[method]
    )
    found: list[str] = []

    def check(shape: Any, value: Any, where: str) -> None:
        if shape.type_name == "structure":
            found.extend(f"{where}: missing {m}" for m in shape.required_members if m not in value)
            for key, item in value.items():
                if key not in shape.members:
                    found.append(f"{where}: unknown member {key}")
                else:
                    check(shape.members[key], item, f"{where}.{key}")
        elif shape.type_name == "list":
            for index, item in enumerate(value):
                check(shape.member, item, f"{where}[{index}]")
        elif "enum" in shape.metadata and value not in shape.metadata["enum"]:
            found.append(f"{where}: {value!r} not in enum")

    output = SERVICE_MODEL.operation_model(name).output_shape
    if output is not None:
        check(output, payload, name)
    elif payload:
        found.append(f"{name}: expected an empty answer, got {payload}")
    return found


# --- the API -------------------------------------------------------------------------------------------
def test_start_then_describe_round_trips_through_the_environment_endpoint(a2i: Any) -> None:
    # Given a client configured only by AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME
    # When a loop starts
    arn = start(a2i, "loop-1")
    # Then describing it reports it in progress, with no output yet
    described = a2i.describe_human_loop(HumanLoopName="loop-1")
    assert arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:human-loop/loop-1"
    assert described["HumanLoopArn"] == arn
    assert described["HumanLoopStatus"] == "InProgress"
    assert described["FlowDefinitionArn"] == FLOW_ARN
    assert isinstance(described["CreationTime"], datetime)
    assert abs(described["CreationTime"] - datetime.now(UTC)) < timedelta(minutes=1)
    assert "HumanLoopOutput" not in described


def test_start_with_a_name_in_use_is_a_conflict(a2i: Any) -> None:
    start(a2i, "loop-1")
    assert error_of(lambda: start(a2i, "loop-1")) == ("ConflictException", 409)


@pytest.mark.parametrize(
    "overrides",
    [
        {"HumanLoopName": "Upper-Case"},
        {"HumanLoopName": "ends-with-"},
        {"HumanLoopName": "x" * 64},
        {"FlowDefinitionArn": "arn:aws:sagemaker:us-east-1:123456789012:workteam/x"},
        {"HumanLoopInput": {"InputContent": "{not json"}},
        {"DataAttributes": {"ContentClassifiers": ["FreeOfViruses"]}},
    ],
    ids=[
        "upper-case-name",
        "trailing-hyphen",
        "name-too-long",
        "not-a-flow-arn",
        "input-not-json",
        "classifier",
    ],
)
def test_start_rejects_what_the_service_model_forbids(a2i: Any, overrides: dict[str, Any]) -> None:
    request = {
        "HumanLoopName": "loop-1",
        "FlowDefinitionArn": FLOW_ARN,
        "HumanLoopInput": {"InputContent": json.dumps(loop_input())},
        **overrides,
    }
    assert error_of(lambda: a2i.start_human_loop(**request)) == ("ValidationException", 400)


def test_start_beyond_the_in_progress_quota_is_refused(make_a2i: ServiceFactory, monkeypatch: Any) -> None:
    service = make_a2i(max_in_progress=1)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME", service.url)
    client = boto3.client("sagemaker-a2i-runtime", region_name=REGION)
    start(client, "loop-1")
    assert error_of(lambda: start(client, "loop-2")) == ("ServiceQuotaExceededException", 402)


@pytest.mark.parametrize(("code", "status"), [("ThrottlingException", 429), ("InternalServerException", 500)])
def test_injected_faults_answer_their_modelled_code(
    service: A2IService, a2i: Any, code: str, status: int
) -> None:
    service.faults.fail("DescribeHumanLoop", code)
    start(a2i, "loop-1")
    assert error_of(lambda: a2i.describe_human_loop(HumanLoopName="loop-1")) == (code, status)
    assert a2i.describe_human_loop(HumanLoopName="loop-1")["HumanLoopStatus"] == "InProgress"


def test_unknown_loops_are_not_found(a2i: Any) -> None:
    for call in (
        lambda: a2i.describe_human_loop(HumanLoopName="nope"),
        lambda: a2i.stop_human_loop(HumanLoopName="nope"),
        lambda: a2i.delete_human_loop(HumanLoopName="nope"),
    ):
        assert error_of(call) == ("ResourceNotFoundException", 404)


def test_error_answers_carry_the_code_header_and_a_message(service: A2IService) -> None:
    request = urllib.request.Request(f"{service.url}/human-loops/nope")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 404
    assert caught.value.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert json.loads(caught.value.read()) == {"Message": "Human loop nope does not exist"}


def test_list_filters_by_flow_sorts_and_pages(a2i: Any) -> None:
    for number in range(5):
        start(a2i, f"loop-{number}")
    start(a2i, "elsewhere", flow=OTHER_FLOW_ARN)

    newest_first = a2i.list_human_loops(FlowDefinitionArn=FLOW_ARN)["HumanLoopSummaries"]
    pages = a2i.get_paginator("list_human_loops").paginate(
        FlowDefinitionArn=FLOW_ARN, SortOrder="Ascending", PaginationConfig={"PageSize": 2}
    )
    page_sizes: list[int] = []
    oldest_first: list[str] = []
    for page in pages:
        page_sizes.append(len(page["HumanLoopSummaries"]))
        oldest_first.extend(summary["HumanLoopName"] for summary in page["HumanLoopSummaries"])

    assert [summary["HumanLoopName"] for summary in newest_first] == [f"loop-{n}" for n in (4, 3, 2, 1, 0)]
    assert {summary["HumanLoopStatus"] for summary in newest_first} == {"InProgress"}
    assert oldest_first == [f"loop-{n}" for n in range(5)]
    assert page_sizes == [2, 2, 1]


def test_list_filters_by_creation_time(a2i: Any) -> None:
    start(a2i, "loop-1")
    now = datetime.now(UTC)
    after = a2i.list_human_loops(FlowDefinitionArn=FLOW_ARN, CreationTimeAfter=now + timedelta(minutes=1))
    before = a2i.list_human_loops(FlowDefinitionArn=FLOW_ARN, CreationTimeBefore=now + timedelta(minutes=1))
    assert after["HumanLoopSummaries"] == []
    assert [s["HumanLoopName"] for s in before["HumanLoopSummaries"]] == ["loop-1"]


def test_list_rejects_bad_arguments(a2i: Any) -> None:
    assert error_of(lambda: a2i.list_human_loops(FlowDefinitionArn=FLOW_ARN, NextToken="%%%")) == (
        "ValidationException",
        400,
    )
    assert error_of(lambda: a2i.list_human_loops(FlowDefinitionArn="flow")) == ("ValidationException", 400)


def test_list_of_an_unknown_flow_definition_is_not_found(make_a2i: ServiceFactory, monkeypatch: Any) -> None:
    service = make_a2i(flow_definitions=[FLOW_ARN])
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME", service.url)
    client = boto3.client("sagemaker-a2i-runtime", region_name=REGION)
    assert client.list_human_loops(FlowDefinitionArn=FLOW_ARN)["HumanLoopSummaries"] == []
    assert error_of(lambda: client.list_human_loops(FlowDefinitionArn=OTHER_FLOW_ARN)) == (
        "ResourceNotFoundException",
        404,
    )
    assert error_of(lambda: start(client, "loop-1", flow=OTHER_FLOW_ARN)) == ("ValidationException", 400)


def test_stop_ends_the_loop_and_emits_a_stopped_event(a2i: Any, events: list[dict[str, Any]]) -> None:
    arn = start(a2i, "loop-1")
    a2i.stop_human_loop(HumanLoopName="loop-1")
    a2i.stop_human_loop(HumanLoopName="loop-1")  # stopping a stopped loop changes nothing
    assert a2i.describe_human_loop(HumanLoopName="loop-1")["HumanLoopStatus"] == "Stopped"
    assert [(e["detail"]["humanLoopArn"], e["detail"]["humanLoopStatus"]) for e in events] == [
        (arn, "Stopped")
    ]
    assert events[0]["detail"]["humanLoopOutput"] is None


def test_delete_needs_a_stopped_loop_and_frees_its_name(a2i: Any) -> None:
    start(a2i, "loop-1")
    assert error_of(lambda: a2i.delete_human_loop(HumanLoopName="loop-1")) == ("ValidationException", 400)
    a2i.stop_human_loop(HumanLoopName="loop-1")
    a2i.delete_human_loop(HumanLoopName="loop-1")
    assert error_of(lambda: a2i.describe_human_loop(HumanLoopName="loop-1")) == (
        "ResourceNotFoundException",
        404,
    )
    start(a2i, "loop-1")


# --- answers -------------------------------------------------------------------------------------------
def test_complete_writes_output_json_in_a2i_layout(service: A2IService, a2i: Any, a2i_s3: Any) -> None:
    # Given a loop in progress
    content = loop_input(2)
    start(a2i, "loop-1", content)
    created = a2i.describe_human_loop(HumanLoopName="loop-1")["CreationTime"].astimezone(UTC)
    # When a reviewer answers it
    uri = service.complete("loop-1", {"doc-1": "re-fund", "doc-0": "late delivery"}, worker_id="alice")
    # Then output.json sits under <prefix><flow>/<creation time>/<loop>/ in A2I's layout
    assert uri == f"s3://{BUCKET}/a2i-output/{FLOW}/{created:%Y/%m/%d/%H/%M/%S}/loop-1/output.json"
    output = read_output(a2i_s3, uri)
    assert list(output) == ["flowDefinitionArn", "humanAnswers", "humanLoopName", "inputContent"]
    assert output["flowDefinitionArn"] == FLOW_ARN
    assert output["humanLoopName"] == "loop-1"
    assert output["inputContent"] == content
    [answer] = output["humanAnswers"]
    assert sorted(answer) == [
        "acceptanceTime",
        "answerContent",
        "submissionTime",
        "timeSpentInSeconds",
        "workerId",
        "workerMetadata",
    ]
    assert answer["answerContent"] == {"label-doc-0": "late delivery", "label-doc-1": "re-fund"}
    assert answer["workerId"] == "alice"
    assert answer["workerMetadata"]["identityData"]["sub"] == "alice"
    iso = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    assert re.fullmatch(iso, answer["acceptanceTime"]) and re.fullmatch(iso, answer["submissionTime"])
    assert isinstance(answer["timeSpentInSeconds"], float) and answer["timeSpentInSeconds"] >= 0


def test_complete_marks_the_loop_completed_with_its_output(service: A2IService, a2i: Any) -> None:
    start(a2i, "loop-1")
    uri = service.complete("loop-1", {"doc-0": "BILLING", "doc-1": "BILLING"})
    described = a2i.describe_human_loop(HumanLoopName="loop-1")
    assert described["HumanLoopStatus"] == "Completed"
    assert described["HumanLoopOutput"] == {"OutputS3Uri": uri}
    assert service.pending() == []


def test_complete_emits_the_status_change_event(
    service: A2IService, a2i: Any, events: list[dict[str, Any]]
) -> None:
    arn = start(a2i, "loop-1")
    creation = a2i.describe_human_loop(HumanLoopName="loop-1")["CreationTime"]
    uri = service.complete("loop-1", {"doc-0": "BILLING", "doc-1": "BILLING"})
    [event] = events
    assert event["source"] == "aws.sagemaker"
    assert event["detail-type"] == "SageMaker A2I HumanLoop Status Change"
    assert event["resources"] == [arn]
    assert (event["account"], event["region"]) == (ACCOUNT, REGION)
    assert event["detail"] == {
        "creationTime": creation.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "failureCode": None,
        "failureReason": None,
        "flowDefinitionArn": FLOW_ARN,
        "humanLoopArn": arn,
        "humanLoopName": "loop-1",
        "humanLoopOutput": {"outputS3Uri": uri},
        "humanLoopStatus": "Completed",
    }


def test_a_failing_listener_does_not_undo_the_answer(make_a2i: ServiceFactory) -> None:
    def broken(event: dict[str, Any]) -> None:
        raise RuntimeError("target down")

    service = make_a2i(on_status_change=broken)
    service.start_human_loop(
        {"HumanLoopName": "loop-1", "FlowDefinitionArn": FLOW_ARN, "HumanLoopInput": {"InputContent": "{}"}}
    )
    service.start_human_loop(
        {
            "HumanLoopName": "loop-2",
            "FlowDefinitionArn": FLOW_ARN,
            "HumanLoopInput": {"InputContent": json.dumps(loop_input(1))},
        }
    )
    service.complete("loop-2", {"doc-0": "BILLING"})
    assert service.describe_human_loop("loop-2")["HumanLoopStatus"] == "Completed"


@pytest.mark.parametrize(
    ("answers", "error"),
    [
        ({"doc-0": "BILLING"}, "No answer for item(s) doc-1"),
        ({"doc-0": "BILLING", "doc-1": "SPAM"}, "not one of the loop's labels"),
        ({"doc-0": "BILLING", "doc-1": "BILLING", "doc-9": "BILLING"}, "No item 'doc-9'"),
    ],
    ids=["missing", "label-not-offered", "unknown-item"],
)
def test_complete_refuses_incomplete_or_foreign_answers(
    service: A2IService, a2i: Any, answers: dict[str, str], error: str
) -> None:
    start(a2i, "loop-1")
    with pytest.raises(ValidationException, match=re.escape(error)):
        service.complete("loop-1", answers)
    assert a2i.describe_human_loop(HumanLoopName="loop-1")["HumanLoopStatus"] == "InProgress"


def test_complete_only_answers_loops_in_progress(service: A2IService, a2i: Any) -> None:
    start(a2i, "loop-1")
    service.complete("loop-1", {"label-doc-0": "BILLING", "label-doc-1": "BILLING"})
    with pytest.raises(ValidationException, match="Completed"):
        service.complete("loop-1", {"doc-0": "BILLING", "doc-1": "BILLING"})
    with pytest.raises(ResourceNotFoundException):
        service.complete("nope", {})


def test_more_than_ten_items_are_paired_by_id_not_by_position(
    service: A2IService, a2i: Any, a2i_s3: Any
) -> None:
    # Given 12 items whose ids sort differently as text and as numbers
    ids = (11, 2, 10, 1, 0, 3, 4, 5, 6, 7, 8, 9)
    content: dict[str, Any] = {
        "items": [{"id": n, "text": f"text {n}", "scores": []} for n in ids],
        "labels": ["even", "odd"],
    }
    start(a2i, "many", content)
    # When the page is shown and the answers come back in another order
    status, html = http(service, "/review")
    answers = {str(n): "even" if n % 2 == 0 else "odd" for n in range(12)}
    uri = service.complete("many", dict(reversed(list(answers.items()))))
    # Then every item has its radio group and every answer is under its own item's key, in input order
    assert status == 200
    assert sorted(set(re.findall(r'name="(label-\d+)"', html))) == sorted(f"label-{n}" for n in range(12))
    content_out = read_output(a2i_s3, uri)["humanAnswers"][0]["answerContent"]
    assert list(content_out) == [f"label-{n}" for n in ids]
    assert all(value == ("even" if int(key[6:]) % 2 == 0 else "odd") for key, value in content_out.items())


def test_loops_survive_a_restart(make_a2i: ServiceFactory, tmp_path: Path, a2i_s3: Any) -> None:
    # Given loops started on one service, which then stops
    first = make_a2i(tmp_path / "state")
    for name in ("loop-1", "loop-2"):
        first.start_human_loop(
            {
                "HumanLoopName": name,
                "FlowDefinitionArn": FLOW_ARN,
                "HumanLoopInput": {"InputContent": json.dumps(loop_input(1))},
            }
        )
    first.complete("loop-1", {"doc-0": "BILLING"})
    first.stop()
    # When a new service opens the same state directory
    second = make_a2i(tmp_path / "state")
    # Then it knows both loops, their statuses and names, and can finish the open one
    assert second.describe_human_loop("loop-1")["HumanLoopStatus"] == "Completed"
    assert [loop["humanLoopName"] for loop in second.pending()] == ["loop-2"]
    with pytest.raises(ConflictException, match="already exists"):
        second.start_human_loop(
            {
                "HumanLoopName": "loop-2",
                "FlowDefinitionArn": FLOW_ARN,
                "HumanLoopInput": {"InputContent": "{}"},
            }
        )
    uri = second.complete("loop-2", {"doc-0": "re-fund"})
    assert read_output(a2i_s3, uri)["humanAnswers"][0]["answerContent"] == {"label-doc-0": "re-fund"}


def test_pending_lists_loops_in_progress_oldest_first_with_their_input(service: A2IService, a2i: Any) -> None:
    start(a2i, "loop-b")
    start(a2i, "loop-a", loop_input(1))
    start(a2i, "loop-c")
    a2i.stop_human_loop(HumanLoopName="loop-c")
    pending = service.pending()
    assert [loop["humanLoopName"] for loop in pending] == ["loop-b", "loop-a"]
    assert pending[1]["inputContent"] == loop_input(1)
    assert pending[1]["flowDefinitionArn"] == FLOW_ARN


# --- the review page (plain HTTP; the browser test drives it for real) -----------------------------------
def test_review_page_escapes_input_and_offers_the_loops_labels(service: A2IService, a2i: Any) -> None:
    nasty = "<script>alert(\"x\")</script> & 'quoted'"
    content = {
        "items": [{"id": 'a"b', "text": nasty, "scores": [{"Name": "<b>bold</b>", "Score": 0.9}]}],
        "labels": ["<b>bold</b>", "two words", "with-dash"],
    }
    start(a2i, "loop-1", content)
    status, html = http(service, "/review")
    assert status == 200
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;quoted&#x27;" in html
    radios = re.findall(r'<input type="radio" name="([^"]*)" value="([^"]*)"', html)
    assert radios == [
        ("label-a&quot;b", value) for value in ("&lt;b&gt;bold&lt;/b&gt;", "two words", "with-dash")
    ]
    assert 'action="/review/loop-1"' in html


def test_review_form_post_completes_the_loop(service: A2IService, a2i: Any, a2i_s3: Any) -> None:
    start(a2i, "loop-1")
    form = {"opened": "0", "label-doc-0": "late delivery", "label-doc-1": "re-fund"}
    status, html = http(service, "/review/loop-1", form)
    assert status == 200 and "Submitted loop-1" in html and "Nothing to review" in html
    described = a2i.describe_human_loop(HumanLoopName="loop-1")
    output = read_output(a2i_s3, described["HumanLoopOutput"]["OutputS3Uri"])
    assert output["humanAnswers"][0]["answerContent"] == {
        "label-doc-0": "late delivery",
        "label-doc-1": "re-fund",
    }
    assert output["humanAnswers"][0]["workerId"] == "local-reviewer"


def test_review_form_with_an_item_unanswered_keeps_the_loop_open(service: A2IService, a2i: Any) -> None:
    start(a2i, "loop-1")
    status, html = http(service, "/review/loop-1", {"label-doc-0": "BILLING"})
    assert status == 400 and "No answer for item(s) doc-1" in html
    assert a2i.describe_human_loop(HumanLoopName="loop-1")["HumanLoopStatus"] == "InProgress"


def test_review_form_for_an_unknown_loop_is_not_found(service: A2IService) -> None:
    status, _ = http(service, "/review/nope", {"label-0": "x"})
    assert status == 404
