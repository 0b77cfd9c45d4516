"""The local Comprehend service, driven through boto3 over HTTP like the application drives Comprehend."""

from __future__ import annotations

import json
from typing import Any

import boto3
import botocore.config
import pytest
from comprehend_kit import (
    BUCKET,
    ROLE,
    ServiceFactory,
    classifier_status,
    client_for,
    multi_label_rows,
    read_tar,
    rows,
    to_csv,
    upload,
    wait_endpoint,
    wait_for,
    wait_trained,
)

from local.comprehend import ComprehendService

LABELS = ["SPORTS", "FINANCE", "COOKING"]


def create_classifier(
    comprehend: Any,
    s3: Any,
    name: str = "news",
    *,
    version: str | None = "v1",
    data: bytes | None = None,
    test_data: bytes | None = None,
    mode: str = "MULTI_CLASS",
) -> str:
    config: dict[str, Any] = {
        "S3Uri": upload(s3, f"train/{name}-{version}.csv", data or to_csv(rows(LABELS, 20))),
        "DataFormat": "COMPREHEND_CSV",
    }
    if test_data is not None:
        config["TestS3Uri"] = upload(s3, f"test/{name}-{version}.csv", test_data)
    if mode == "MULTI_LABEL":
        config["LabelDelimiter"] = "|"
    kwargs: dict[str, Any] = {"VersionName": version} if version else {}
    return str(
        comprehend.create_document_classifier(
            DocumentClassifierName=name,
            DataAccessRoleArn=ROLE,
            InputDataConfig=config,
            OutputDataConfig={"S3Uri": f"s3://{BUCKET}/output/"},
            LanguageCode="en",
            Mode=mode,
            **kwargs,
        )["DocumentClassifierArn"]
    )


def create_endpoint(comprehend: Any, model_arn: str, name: str = "news-endpoint") -> str:
    arn = comprehend.create_endpoint(EndpointName=name, ModelArn=model_arn, DesiredInferenceUnits=1)[
        "EndpointArn"
    ]
    assert wait_endpoint(comprehend, arn)["Status"] == "IN_SERVICE"
    return str(arn)


# --- training -----------------------------------------------------------------------------------------
def test_training_moves_through_the_real_statuses_and_reports_metrics(
    make_service: ServiceFactory, s3: Any
) -> None:
    # Given a service whose asynchronous steps take a little time, so that each status can be seen
    comprehend = client_for(make_service(async_delay_s=0.2))
    # When a classifier is created from labelled documents
    arn = create_classifier(comprehend, s3)
    seen: list[str] = []

    def finished(props: dict[str, Any]) -> bool:
        seen.append(props["Status"])
        return props["Status"] in ("TRAINED", "IN_ERROR")

    props = wait_for(lambda: classifier_status(comprehend, arn), finished)
    # Then it goes SUBMITTED → TRAINING → TRAINED and reports Comprehend's metadata and metrics
    assert [s for i, s in enumerate(seen) if i == 0 or seen[i - 1] != s] == [
        "SUBMITTED",
        "TRAINING",
        "TRAINED",
    ]
    assert arn == "arn:aws:comprehend:us-east-1:123456789012:document-classifier/news/version/v1"
    meta = props["ClassifierMetadata"]
    assert meta["NumberOfLabels"] == 3
    assert meta["NumberOfTrainedDocuments"] + meta["NumberOfTestDocuments"] == 60
    assert meta["NumberOfTestDocuments"] == 6  # ~10 % held out, stratified
    metrics = meta["EvaluationMetrics"]
    expected = "Accuracy Precision Recall F1Score MicroPrecision MicroRecall MicroF1Score HammingLoss"
    assert set(metrics) == set(expected.split())
    assert metrics["Accuracy"] >= 0.8
    assert props["SubmitTime"] <= props["TrainingStartTime"] <= props["TrainingEndTime"] <= props["EndTime"]
    assert props["VersionName"] == "v1" and props["Mode"] == "MULTI_CLASS"


def test_training_output_holds_the_confusion_matrix(comprehend: Any, s3: Any) -> None:
    test_data = to_csv(rows(LABELS, 5, seed=7))
    arn = create_classifier(comprehend, s3, test_data=test_data)
    props = wait_trained(comprehend, arn)
    uri = props["OutputDataConfig"]["S3Uri"]
    prefix = f"s3://{BUCKET}/output/123456789012-CLR-"
    assert uri.startswith(prefix) and uri.endswith("/output/output.tar.gz")
    assert len(uri.removeprefix(prefix).split("/")[0]) == 32
    matrix = json.loads(read_tar(s3, uri)["confusion_matrix.json"])
    assert matrix["type"] == "multi_class"
    assert matrix["labels"] == sorted(LABELS) == matrix["all_labels"]
    assert sum(map(sum, matrix["confusion_matrix"])) == 15
    assert props["ClassifierMetadata"]["NumberOfTestDocuments"] == 15
    assert props["ClassifierMetadata"]["NumberOfTrainedDocuments"] == 60


@pytest.mark.parametrize(
    ("data", "test_data", "message"),
    [
        (to_csv(rows(LABELS, 20)[:-40] + rows(["TRAVEL"], 3)), None, "at least 10 documents"),
        (to_csv(rows(LABELS, 20)), to_csv(rows(["TRAVEL", "SPORTS"], 3)), "not in the training data: TRAVEL"),
        (to_csv(rows(["SPORTS"], 30)), None, "at least 2 unique labels"),
        (b'SPORTS,"unterminated\n', None, "malformed CSV"),
        (b"\xff\xfe\x00bad", None, "UTF-8"),
    ],
    ids=["too-few-documents", "unknown-test-label", "one-label", "bad-csv", "not-utf8"],
)
def test_bad_training_data_ends_in_error(
    comprehend: Any, s3: Any, data: bytes, test_data: bytes | None, message: str
) -> None:
    arn = create_classifier(comprehend, s3, data=data, test_data=test_data)
    props = wait_for(
        lambda: classifier_status(comprehend, arn), lambda p: p["Status"] not in ("SUBMITTED", "TRAINING")
    )
    assert props["Status"] == "IN_ERROR"
    assert message in props["Message"]


def test_missing_training_object_ends_in_error(comprehend: Any) -> None:
    arn = comprehend.create_document_classifier(
        DocumentClassifierName="missing",
        DataAccessRoleArn=ROLE,
        InputDataConfig={"S3Uri": f"s3://{BUCKET}/nothing-here.csv"},
        LanguageCode="en",
    )["DocumentClassifierArn"]
    assert arn.endswith(":document-classifier/missing")
    props = wait_for(
        lambda: classifier_status(comprehend, arn), lambda p: p["Status"] not in ("SUBMITTED", "TRAINING")
    )
    assert props["Status"] == "IN_ERROR"
    assert "nothing-here.csv" in props["Message"]


def test_training_reads_every_object_under_a_prefix(comprehend: Any, s3: Any) -> None:
    """Given training data split over two files under one prefix (the second without a final line break),
    when a classifier is trained on the prefix, then it trains on the documents of both."""
    data = rows(LABELS, 20)
    upload(s3, "parts/v1/train/part-00000.csv", to_csv(data[:25]))
    upload(s3, "parts/v1/train/part-00001.csv", to_csv(data[25:]).rstrip(b"\n"))
    arn = comprehend.create_document_classifier(
        DocumentClassifierName="prefix",
        DataAccessRoleArn=ROLE,
        InputDataConfig={"S3Uri": f"s3://{BUCKET}/parts/v1/train/"},
        LanguageCode="en",
    )["DocumentClassifierArn"]

    props = wait_trained(comprehend, arn)

    meta = props["ClassifierMetadata"]
    assert meta["NumberOfTrainedDocuments"] + meta["NumberOfTestDocuments"] == 60


def test_same_name_and_version_is_in_use(comprehend: Any, s3: Any) -> None:
    create_classifier(comprehend, s3)
    with pytest.raises(comprehend.exceptions.ResourceInUseException):
        create_classifier(comprehend, s3)
    assert create_classifier(comprehend, s3, version="v2").endswith("/version/v2")


def test_stop_training(make_service: ServiceFactory, s3: Any) -> None:
    comprehend = client_for(make_service(async_delay_s=0.3))
    arn = create_classifier(comprehend, s3)
    comprehend.stop_training_document_classifier(DocumentClassifierArn=arn)
    assert classifier_status(comprehend, arn)["Status"] == "STOP_REQUESTED"
    props = wait_for(
        lambda: classifier_status(comprehend, arn), lambda p: p["Status"] == "STOPPED", timeout=10
    )
    assert props["Status"] == "STOPPED"


def test_list_and_delete_classifiers(comprehend: Any, s3: Any) -> None:
    first = create_classifier(comprehend, s3, version="v1")
    second = create_classifier(comprehend, s3, version="v2")
    create_classifier(comprehend, s3, name="other", data=to_csv(rows(["SPORTS"], 30)))
    wait_trained(comprehend, first)
    wait_trained(comprehend, second)
    listed = comprehend.list_document_classifiers(Filter={"DocumentClassifierName": "news"})
    assert [p["DocumentClassifierArn"] for p in listed["DocumentClassifierPropertiesList"]] == [first, second]
    failed = comprehend.list_document_classifiers(Filter={"Status": "IN_ERROR"})[
        "DocumentClassifierPropertiesList"
    ]
    wait_for(
        lambda: comprehend.list_document_classifiers(Filter={"Status": "IN_ERROR"})[
            "DocumentClassifierPropertiesList"
        ],
        lambda items: len(items) == 1,
    )
    page = comprehend.list_document_classifiers(MaxResults=2)
    assert len(page["DocumentClassifierPropertiesList"]) == 2 and "NextToken" in page
    rest = comprehend.list_document_classifiers(MaxResults=2, NextToken=page["NextToken"])
    assert len(rest["DocumentClassifierPropertiesList"]) == 1 and "NextToken" not in rest
    del failed
    comprehend.delete_document_classifier(DocumentClassifierArn=first)
    wait_for(
        lambda: [
            p["DocumentClassifierArn"]
            for p in comprehend.list_document_classifiers()["DocumentClassifierPropertiesList"]
        ],
        lambda arns: first not in arns,
    )
    with pytest.raises(comprehend.exceptions.ResourceNotFoundException):
        comprehend.describe_document_classifier(DocumentClassifierArn=first)


# --- jobs ---------------------------------------------------------------------------------------------
def test_classification_job_writes_predictions_per_line(comprehend: Any, s3: Any) -> None:
    # Given a trained classifier and two input files, one document per line (with a blank line)
    arn = create_classifier(comprehend, s3)
    wait_trained(comprehend, arn)
    docs = [text for _, text in rows(LABELS, 2, seed=3)]
    upload(s3, "batch/in/a.txt", ("\n".join(docs[:4]) + "\n").encode())
    upload(s3, "batch/in/b.txt", f"{docs[4]}\n\n{docs[5]}".encode())
    # When a job classifies everything under the prefix
    started = comprehend.start_document_classification_job(
        JobName="batch",
        DocumentClassifierArn=arn,
        InputDataConfig={"S3Uri": f"s3://{BUCKET}/batch/in/", "InputFormat": "ONE_DOC_PER_LINE"},
        OutputDataConfig={"S3Uri": f"s3://{BUCKET}/batch/out"},
        DataAccessRoleArn=ROLE,
    )
    job_id = started["JobId"]
    assert len(job_id) == 32 and started["JobStatus"] == "SUBMITTED"
    assert (
        started["JobArn"] == f"arn:aws:comprehend:us-east-1:123456789012:document-classification-job/{job_id}"
    )
    props = wait_for(
        lambda: comprehend.describe_document_classification_job(JobId=job_id)[
            "DocumentClassificationJobProperties"
        ],
        lambda p: p["JobStatus"] in ("COMPLETED", "FAILED"),
    )
    # Then predictions.jsonl has one line per input line, numbered from 0 within each file
    assert props["JobStatus"] == "COMPLETED", props.get("Message")
    uri = props["OutputDataConfig"]["S3Uri"]
    assert uri == f"s3://{BUCKET}/batch/out/123456789012-CLN-{job_id}/output/output.tar.gz"
    files = read_tar(s3, uri)
    assert list(files) == ["predictions.jsonl"]
    lines = [json.loads(line) for line in files["predictions.jsonl"].decode().splitlines()]
    assert [(p["File"], p["Line"]) for p in lines] == [
        ("a.txt", "0"), ("a.txt", "1"), ("a.txt", "2"), ("a.txt", "3"), ("b.txt", "0"), ("b.txt", "2")
    ]  # fmt: skip
    for prediction in lines:
        scores = [c["Score"] for c in prediction["Classes"]]
        assert scores == sorted(scores, reverse=True) and len(scores) == 3
        assert {c["Name"] for c in prediction["Classes"]} <= set(LABELS)
    listed = comprehend.list_document_classification_jobs(Filter={"JobStatus": "COMPLETED"})
    assert [j["JobId"] for j in listed["DocumentClassificationJobPropertiesList"]] == [job_id]


def test_job_failure_injection_and_untrained_classifier(
    service: ComprehendService, comprehend: Any, s3: Any
) -> None:
    arn = create_classifier(comprehend, s3)
    wait_trained(comprehend, arn)
    upload(s3, "batch/one.txt", b"a goal and a penalty\n")
    service.faults.fail_next_job("disk on fire")
    job_id = comprehend.start_document_classification_job(
        DocumentClassifierArn=arn,
        InputDataConfig={"S3Uri": f"s3://{BUCKET}/batch/one.txt", "InputFormat": "ONE_DOC_PER_LINE"},
        OutputDataConfig={"S3Uri": f"s3://{BUCKET}/out/"},
        DataAccessRoleArn=ROLE,
    )["JobId"]
    props = wait_for(
        lambda: comprehend.describe_document_classification_job(JobId=job_id)[
            "DocumentClassificationJobProperties"
        ],
        lambda p: p["JobStatus"] in ("COMPLETED", "FAILED"),
    )
    assert props["JobStatus"] == "FAILED" and props["Message"] == "disk on fire"
    with pytest.raises(comprehend.exceptions.JobNotFoundException):
        comprehend.describe_document_classification_job(JobId="0" * 32)


# --- endpoints and real time --------------------------------------------------------------------------
def test_endpoint_lifecycle(make_service: ServiceFactory, s3: Any) -> None:
    comprehend = client_for(make_service(async_delay_s=0.4))
    v1 = create_classifier(comprehend, s3, version="v1")
    v2 = create_classifier(comprehend, s3, version="v2", data=to_csv(rows(LABELS, 20, seed=5)))
    wait_trained(comprehend, v1)
    wait_trained(comprehend, v2)
    created = comprehend.create_endpoint(EndpointName="news-endpoint", ModelArn=v1, DesiredInferenceUnits=1)
    arn = created["EndpointArn"]
    assert arn == "arn:aws:comprehend:us-east-1:123456789012:document-classifier-endpoint/news-endpoint"
    assert comprehend.describe_endpoint(EndpointArn=arn)["EndpointProperties"]["Status"] == "CREATING"
    with pytest.raises(comprehend.exceptions.ResourceUnavailableException):
        comprehend.classify_document(Text="a goal", EndpointArn=arn)
    props = wait_endpoint(comprehend, arn)
    assert (props["Status"], props["ModelArn"], props["CurrentInferenceUnits"]) == ("IN_SERVICE", v1, 1)
    # the model in use cannot be deleted
    with pytest.raises(comprehend.exceptions.ResourceInUseException):
        comprehend.delete_document_classifier(DocumentClassifierArn=v1)
    # UpdateEndpoint swaps the model in place: UPDATING (still serving) → IN_SERVICE
    assert comprehend.update_endpoint(EndpointArn=arn, DesiredModelArn=v2)["DesiredModelArn"] == v2
    updating = comprehend.describe_endpoint(EndpointArn=arn)["EndpointProperties"]
    assert (updating["Status"], updating["ModelArn"], updating["DesiredModelArn"]) == ("UPDATING", v1, v2)
    assert comprehend.classify_document(Text="a goal", EndpointArn=arn)["Classes"]
    props = wait_endpoint(comprehend, arn)
    assert (props["Status"], props["ModelArn"]) == ("IN_SERVICE", v2)
    listed = comprehend.list_endpoints(Filter={"ModelArn": v2})["EndpointPropertiesList"]
    assert [e["EndpointArn"] for e in listed] == [arn]
    # DeleteEndpoint: DELETING, then gone
    comprehend.delete_endpoint(EndpointArn=arn)
    assert comprehend.describe_endpoint(EndpointArn=arn)["EndpointProperties"]["Status"] == "DELETING"
    wait_for(lambda: comprehend.list_endpoints()["EndpointPropertiesList"], lambda items: items == [])
    with pytest.raises(comprehend.exceptions.ResourceNotFoundException):
        comprehend.describe_endpoint(EndpointArn=arn)
    comprehend.delete_document_classifier(DocumentClassifierArn=v1)


def test_endpoint_rules(service: ComprehendService, comprehend: Any, s3: Any) -> None:
    arn = create_classifier(comprehend, s3)
    with pytest.raises(comprehend.exceptions.ResourceUnavailableException):  # not trained yet
        comprehend.create_endpoint(EndpointName="early", ModelArn=arn, DesiredInferenceUnits=1)
    wait_trained(comprehend, arn)
    with pytest.raises(comprehend.exceptions.ResourceLimitExceededException):
        comprehend.create_endpoint(EndpointName="big", ModelArn=arn, DesiredInferenceUnits=11)
    with pytest.raises(comprehend.exceptions.ResourceNotFoundException):
        comprehend.create_endpoint(EndpointName="ghost", ModelArn=arn + "x", DesiredInferenceUnits=1)
    endpoint = create_endpoint(comprehend, arn)
    with pytest.raises(comprehend.exceptions.ResourceInUseException):
        comprehend.create_endpoint(EndpointName="news-endpoint", ModelArn=arn, DesiredInferenceUnits=1)
    # an injected failure leaves the next endpoint FAILED with the reason
    service.faults.fail_next_endpoint("no capacity")
    failed = comprehend.create_endpoint(EndpointName="doomed", ModelArn=arn, DesiredInferenceUnits=2)[
        "EndpointArn"
    ]
    props = wait_endpoint(comprehend, failed)
    assert (props["Status"], props["Message"]) == ("FAILED", "no capacity")
    with pytest.raises(comprehend.exceptions.ResourceUnavailableException):
        comprehend.classify_document(Text="a goal", EndpointArn=failed)
    assert (
        comprehend.list_endpoints(Filter={"Status": "IN_SERVICE"})["EndpointPropertiesList"][0]["EndpointArn"]
        == endpoint
    )


def test_classify_document_returns_every_class_sorted(comprehend: Any, s3: Any) -> None:
    arn = create_classifier(comprehend, s3)
    wait_trained(comprehend, arn)
    endpoint = create_endpoint(comprehend, arn)
    result = comprehend.classify_document(
        Text="The striker scored a late goal for the team", EndpointArn=endpoint
    )
    classes = result["Classes"]
    assert classes[0]["Name"] == "SPORTS"
    assert sorted(c["Name"] for c in classes) == sorted(LABELS)
    scores = [c["Score"] for c in classes]
    assert scores == sorted(scores, reverse=True)
    assert sum(scores) == pytest.approx(1.0, abs=1e-4)
    assert "Labels" not in result


def test_classify_document_limits_and_errors(comprehend: Any, s3: Any) -> None:
    arn = create_classifier(comprehend, s3)
    wait_trained(comprehend, arn)
    endpoint = create_endpoint(comprehend, arn)
    assert comprehend.classify_document(Text="a" * 10_000, EndpointArn=endpoint)["Classes"]
    with pytest.raises(comprehend.exceptions.TextSizeLimitExceededException):
        comprehend.classify_document(Text="a" * 10_001, EndpointArn=endpoint)
    with pytest.raises(comprehend.exceptions.TextSizeLimitExceededException):
        comprehend.classify_document(Text="é" * 5_001, EndpointArn=endpoint)  # 10,002 bytes in UTF-8
    # a missing endpoint is "unavailable", the only resource error modelled for ClassifyDocument
    with pytest.raises(comprehend.exceptions.ResourceUnavailableException):
        comprehend.classify_document(Text="goal", EndpointArn=endpoint.replace("news-endpoint", "nope"))
    with pytest.raises(comprehend.exceptions.InvalidRequestException):
        comprehend.classify_document(Text="goal", EndpointArn=arn)  # a model ARN is not an endpoint


def test_multi_label_classifier(comprehend: Any, s3: Any) -> None:
    data = to_csv(multi_label_rows(LABELS, 90))
    arn = create_classifier(comprehend, s3, data=data, mode="MULTI_LABEL")
    props = wait_trained(comprehend, arn)
    assert props["Mode"] == "MULTI_LABEL" and props["InputDataConfig"]["LabelDelimiter"] == "|"
    assert 0 <= props["ClassifierMetadata"]["EvaluationMetrics"]["HammingLoss"] <= 0.2
    endpoint = create_endpoint(comprehend, arn)
    result = comprehend.classify_document(Text="recipe butter oven bank loan interest", EndpointArn=endpoint)
    labels = result["Labels"]
    assert "Classes" not in result
    assert {label["Name"] for label in labels if label["Score"] >= 0.5} == {"COOKING", "FINANCE"}
    scores = [label["Score"] for label in labels]
    assert scores == sorted(scores, reverse=True)
    # jobs report only the labels scoring at least 0.5
    upload(s3, "ml/in.txt", b"recipe butter oven flour\nbank loan interest stock\n")
    job_id = comprehend.start_document_classification_job(
        DocumentClassifierArn=arn,
        InputDataConfig={"S3Uri": f"s3://{BUCKET}/ml/in.txt", "InputFormat": "ONE_DOC_PER_LINE"},
        OutputDataConfig={"S3Uri": f"s3://{BUCKET}/ml/out/"},
        DataAccessRoleArn=ROLE,
    )["JobId"]
    job = wait_for(
        lambda: comprehend.describe_document_classification_job(JobId=job_id)[
            "DocumentClassificationJobProperties"
        ],
        lambda p: p["JobStatus"] in ("COMPLETED", "FAILED"),
    )
    lines = [
        json.loads(x)
        for x in read_tar(s3, job["OutputDataConfig"]["S3Uri"])["predictions.jsonl"].splitlines()
    ]
    assert [[label["Name"] for label in p["Labels"]] for p in lines] == [["COOKING"], ["FINANCE"]]


# --- persistence, faults ------------------------------------------------------------------------------
def test_a_restarted_service_keeps_models_and_endpoints(
    make_service: ServiceFactory, s3: Any, tmp_path: Any
) -> None:
    first = make_service(tmp_path / "shared-state")
    comprehend = client_for(first)
    arn = create_classifier(comprehend, s3)
    wait_trained(comprehend, arn)
    endpoint = create_endpoint(comprehend, arn)
    before = comprehend.classify_document(Text="bank loan interest", EndpointArn=endpoint)["Classes"]
    pending = create_classifier(comprehend, s3, version="v2")
    first.stop()
    # the second service finds everything; training caught in flight would end IN_ERROR
    second = make_service(tmp_path / "shared-state")
    again = client_for(second)
    assert classifier_status(again, arn)["Status"] == "TRAINED"
    assert classifier_status(again, pending)["Status"] in ("TRAINED", "IN_ERROR")
    assert again.describe_endpoint(EndpointArn=endpoint)["EndpointProperties"]["Status"] == "IN_SERVICE"
    assert again.classify_document(Text="bank loan interest", EndpointArn=endpoint)["Classes"] == before


def test_restart_fails_work_in_flight(make_service: ServiceFactory, s3: Any, tmp_path: Any) -> None:
    first = make_service(tmp_path / "state2", async_delay_s=5)
    arn = create_classifier(client_for(first), s3)
    first.stop()
    props = classifier_status(client_for(make_service(tmp_path / "state2")), arn)
    assert props["Status"] == "IN_ERROR" and "restarted" in props["Message"]


def test_throttling_fault_raises_too_many_requests(
    service: ComprehendService, comprehend: Any, s3: Any
) -> None:
    service.faults.throttle("CreateDocumentClassifier", times=2)
    client = boto3.client(  # no retries, so that each throttled call surfaces
        "comprehend",
        region_name="us-east-1",
        endpoint_url=service.url,
        config=botocore.config.Config(retries={"total_max_attempts": 1}),
    )
    for _ in range(2):
        with pytest.raises(client.exceptions.TooManyRequestsException):
            create_classifier(client, s3)
    assert create_classifier(client, s3).endswith("/version/v1")


def test_throttled_calls_are_retried_by_boto3(service: ComprehendService, comprehend: Any, s3: Any) -> None:
    service.faults.throttle("DescribeDocumentClassifier", times=1)
    arn = create_classifier(comprehend, s3)
    assert classifier_status(comprehend, arn)["DocumentClassifierArn"] == arn  # the default retry absorbs it


def test_unknown_operation_and_malformed_requests(service: ComprehendService) -> None:
    import urllib.error
    import urllib.request

    def post(target: str, body: bytes) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            service.url or "",
            data=body,
            headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    assert post("Comprehend_20171127.DetectSentimentX", b"{}")[1]["__type"] == "UnknownOperationException"
    status, body = post("Comprehend_20171127.DescribeEndpoint", b"{}")
    assert (status, body["__type"]) == (400, "InvalidRequestException")
    status, body = post("Comprehend_20171127.CreateEndpoint", b"{not json")
    assert (status, body["__type"]) == (400, "InvalidRequestException")


def test_tags_on_classifiers_and_endpoints(comprehend: Any, s3: Any) -> None:
    arn = create_classifier(comprehend, s3)
    comprehend.tag_resource(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "candidate"}])
    comprehend.tag_resource(ResourceArn=arn, Tags=[{"Key": "owner", "Value": "ml"}])
    comprehend.untag_resource(ResourceArn=arn, TagKeys=["owner"])
    assert comprehend.list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "stage", "Value": "candidate"}
    ]
    with pytest.raises(comprehend.exceptions.ResourceNotFoundException):
        comprehend.list_tags_for_resource(ResourceArn=arn + "x")
    with pytest.raises(comprehend.exceptions.TooManyTagsException):
        comprehend.tag_resource(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
