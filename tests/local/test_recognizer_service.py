"""The local Comprehend service's entity recognizers, driven through boto3 over HTTP like the application."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from comprehend_al.aws.comprehend import RecognizerOps
from comprehend_al.entity_metrics import read_entities_output
from comprehend_al.models import DatasetRef, ModelKind
from comprehend_kit import BUCKET, ROLE, client_for, read_tar, upload, wait_endpoint, wait_for
from comprehend_shapes import output_errors

from local import entitygen
from local.comprehend import ComprehendService

TYPES = ["COMPANY", "PERSON", "TICKER"]


def _enum_of_custom_type(op: str, error: str) -> bool:
    """botocore's ``Entity.Type`` enum lists built-in types only; custom endpoints return custom ones."""
    return op == "DetectEntities" and ".Type: " in error and "not in enum" in error


@pytest.fixture
def make_service(s3: Any, tmp_path: Path) -> Iterator[Any]:
    """Services whose every answer is checked against botocore's output shapes at teardown."""
    started: list[ComprehendService] = []
    answers: list[tuple[str, int, dict[str, Any]]] = []

    def factory(state_dir: Path | None = None, **kwargs: Any) -> ComprehendService:
        service = ComprehendService(state_dir or tmp_path / "state", **kwargs)
        original = service.dispatch

        def dispatch(target: str, body: bytes) -> tuple[int, dict[str, Any]]:
            status, payload = original(target, body)
            answers.append((target.split(".", 1)[-1], status, payload))
            return status, payload

        service.dispatch = dispatch  # type: ignore[method-assign]
        service.start()
        started.append(service)
        return service

    yield factory
    for service in started:
        service.stop()
    problems = [
        f"{op}: {error}"
        for op, status, body in answers
        if status == 200
        for error in output_errors(op, body)
        if not _enum_of_custom_type(op, error)
    ]
    problems += [
        f"{op}: bad error {body}"
        for op, status, body in answers
        if status != 200 and set(body) != {"__type", "message"}
    ]
    assert problems == []


@pytest.fixture
def comprehend(make_service: Any) -> Any:
    return client_for(make_service())


def put_dataset(s3: Any, folder: str, documents: list[entitygen.Document]) -> tuple[str, str]:
    text, annotations = entitygen.to_files(documents)
    return upload(s3, f"{folder}/documents.txt", text), upload(s3, f"{folder}/annotations.csv", annotations)


def create_recognizer(
    comprehend: Any,
    s3: Any,
    name: str = "news",
    *,
    version: str | None = "v1",
    documents: list[entitygen.Document] | None = None,
    test: list[entitygen.Document] | None = None,
    types: list[str] | None = None,
    token: str | None = None,
) -> str:
    docs_uri, ann_uri = put_dataset(
        s3, f"train/{name}-{version}", documents or entitygen.generate(60, seed=1)
    )
    documents_config: dict[str, str] = {"S3Uri": docs_uri}
    annotations_config: dict[str, str] = {"S3Uri": ann_uri}
    if test is not None:
        documents_config["TestS3Uri"], annotations_config["TestS3Uri"] = put_dataset(s3, f"test/{name}", test)
    kwargs: dict[str, Any] = {"VersionName": version} if version else {}
    if token:
        kwargs["ClientRequestToken"] = token
    return str(
        comprehend.create_entity_recognizer(
            RecognizerName=name,
            DataAccessRoleArn=ROLE,
            InputDataConfig={
                "DataFormat": "COMPREHEND_CSV",
                "EntityTypes": [{"Type": t} for t in types or TYPES],
                "Documents": documents_config,
                "Annotations": annotations_config,
            },
            LanguageCode="en",
            **kwargs,
        )["EntityRecognizerArn"]
    )


def properties(comprehend: Any, arn: str) -> dict[str, Any]:
    return dict(comprehend.describe_entity_recognizer(EntityRecognizerArn=arn)["EntityRecognizerProperties"])


def wait_done(comprehend: Any, arn: str) -> dict[str, Any]:
    return dict(
        wait_for(lambda: properties(comprehend, arn), lambda p: p["Status"] not in ("SUBMITTED", "TRAINING"))
    )


def trained(comprehend: Any, s3: Any, **kwargs: Any) -> str:
    arn = create_recognizer(comprehend, s3, **kwargs)
    props = wait_done(comprehend, arn)
    assert props["Status"] == "TRAINED", props.get("Message")
    return arn


def create_endpoint(comprehend: Any, model_arn: str, name: str = "ner-endpoint") -> str:
    arn = comprehend.create_endpoint(EndpointName=name, ModelArn=model_arn, DesiredInferenceUnits=1)[
        "EndpointArn"
    ]
    assert wait_endpoint(comprehend, arn)["Status"] == "IN_SERVICE"
    return str(arn)


# --- training -----------------------------------------------------------------------------------------
def test_training_moves_through_the_real_statuses_and_reports_metrics(make_service: Any, s3: Any) -> None:
    # Given a service whose asynchronous steps take a little time, so that each status can be seen
    comprehend = client_for(make_service(async_delay_s=0.2))
    # When a recognizer is trained on annotated news with a fixed test set
    arn = create_recognizer(comprehend, s3, test=entitygen.generate(30, seed=9))
    seen: list[str] = []
    props = wait_for(
        lambda: properties(comprehend, arn),
        lambda p: (seen.append(p["Status"]) or True) and p["Status"] in ("TRAINED", "IN_ERROR"),
    )
    # Then it goes SUBMITTED → TRAINING → TRAINED and reports Comprehend's metadata (0-100 scale)
    assert [s for i, s in enumerate(seen) if i == 0 or seen[i - 1] != s] == [
        "SUBMITTED",
        "TRAINING",
        "TRAINED",
    ]
    assert arn == "arn:aws:comprehend:us-east-1:123456789012:entity-recognizer/news/version/v1"
    meta = props["RecognizerMetadata"]
    assert (meta["NumberOfTrainedDocuments"], meta["NumberOfTestDocuments"]) == (60, 30)
    assert 80 <= meta["EvaluationMetrics"]["F1Score"] <= 100
    assert [t["Type"] for t in meta["EntityTypes"]] == TYPES
    mentions = entitygen.type_counts(entitygen.generate(60, seed=1))
    assert {t["Type"]: t["NumberOfTrainMentions"] for t in meta["EntityTypes"]} == mentions
    assert props["SubmitTime"] <= props["TrainingStartTime"] <= props["TrainingEndTime"] <= props["EndTime"]
    assert props["VersionName"] == "v1" and props["LanguageCode"] == "en"


def test_without_a_test_set_a_tenth_of_the_documents_is_held_out(comprehend: Any, s3: Any) -> None:
    arn = trained(comprehend, s3, documents=entitygen.generate(80, seed=2))
    meta = properties(comprehend, arn)["RecognizerMetadata"]
    assert (meta["NumberOfTrainedDocuments"], meta["NumberOfTestDocuments"]) == (72, 8)


def test_training_reads_documents_files_under_a_prefix_with_their_annotations(
    comprehend: Any, s3: Any
) -> None:
    """Given documents split over two files under one prefix and annotations whose ``File`` names each
    one, when a recognizer is trained on the prefixes, then every document and annotation counts."""
    documents = entitygen.generate(60, seed=1)
    test_documents, test_annotations = put_dataset(s3, "test/prefix", entitygen.generate(30, seed=9))
    for number, chunk in enumerate((documents[:25], documents[25:])):
        text, notes = entitygen.to_files(chunk)
        name = f"part-{number}.txt"
        upload(s3, f"parts/docs/{name}", text)
        upload(s3, f"parts/annotations/{number}.csv", notes.replace(b"documents.txt,", f"{name},".encode()))
    arn = comprehend.create_entity_recognizer(
        RecognizerName="prefix",
        DataAccessRoleArn=ROLE,
        InputDataConfig={
            "DataFormat": "COMPREHEND_CSV",
            "EntityTypes": [{"Type": t} for t in TYPES],
            "Documents": {"S3Uri": f"s3://{BUCKET}/parts/docs/", "TestS3Uri": test_documents},
            "Annotations": {"S3Uri": f"s3://{BUCKET}/parts/annotations/", "TestS3Uri": test_annotations},
        },
        LanguageCode="en",
    )["EntityRecognizerArn"]

    props = wait_done(comprehend, arn)

    assert props["Status"] == "TRAINED", props.get("Message")
    meta = props["RecognizerMetadata"]
    assert meta["NumberOfTrainedDocuments"] == 60
    mentions = {t["Type"]: t["NumberOfTrainMentions"] for t in meta["EntityTypes"]}
    assert mentions == entitygen.type_counts(documents)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda docs, notes: (docs, notes.replace(b",TICKER\n", b",PERSON\n")), "TICKER ("),
        (
            lambda docs, notes: (docs, notes.replace(b"documents.txt,0,", b"documents.txt,0,9999", 1)),
            "End Offset",
        ),
        (lambda docs, notes: (docs, notes.replace(b"documents.txt,", b"other.txt,", 1)), "other.txt"),
        (lambda docs, notes: (docs, notes.split(b"\n", 1)[1]), "header"),
        (lambda docs, notes: (b"\xff\xfe" + docs, notes), "UTF-8"),
    ],
    ids=["too-few-annotations", "offset-past-end", "wrong-file-name", "no-header", "not-utf8"],
)
def test_bad_training_data_ends_in_error_with_the_reason(
    comprehend: Any, s3: Any, mutate: Any, message: str
) -> None:
    # Given training data with one defect
    docs, notes = mutate(*entitygen.to_files(entitygen.generate(60, seed=1)))
    docs_uri = upload(s3, "bad/documents.txt", docs)
    ann_uri = upload(s3, "bad/annotations.csv", notes)
    # When a recognizer is trained on it
    arn = comprehend.create_entity_recognizer(
        RecognizerName="bad",
        DataAccessRoleArn=ROLE,
        InputDataConfig={
            "EntityTypes": [{"Type": t} for t in TYPES],
            "Documents": {"S3Uri": docs_uri},
            "Annotations": {"S3Uri": ann_uri},
        },
        LanguageCode="en",
    )["EntityRecognizerArn"]
    # Then training ends IN_ERROR and the message says what is wrong
    props = wait_done(comprehend, arn)
    assert props["Status"] == "IN_ERROR"
    assert message in props["Message"]


def test_missing_training_data_ends_in_error(comprehend: Any, s3: Any) -> None:
    arn = comprehend.create_entity_recognizer(
        RecognizerName="missing",
        DataAccessRoleArn=ROLE,
        InputDataConfig={
            "EntityTypes": [{"Type": "PERSON"}],
            "Documents": {"S3Uri": f"s3://{BUCKET}/nothing/documents.txt"},
            "Annotations": {"S3Uri": f"s3://{BUCKET}/nothing/annotations.csv"},
        },
        LanguageCode="en",
    )["EntityRecognizerArn"]
    props = wait_done(comprehend, arn)
    assert props["Status"] == "IN_ERROR" and "Unable to access the training data" in props["Message"]


def test_invalid_requests_are_rejected_before_any_work(comprehend: Any, s3: Any) -> None:
    base = {
        "RecognizerName": "news",
        "DataAccessRoleArn": ROLE,
        "LanguageCode": "en",
        "InputDataConfig": {
            "EntityTypes": [{"Type": "PERSON"}],
            "Documents": {"S3Uri": f"s3://{BUCKET}/d.txt", "TestS3Uri": f"s3://{BUCKET}/t.txt"},
            "Annotations": {"S3Uri": f"s3://{BUCKET}/a.csv"},
        },
    }
    errors = comprehend.exceptions
    with pytest.raises(errors.InvalidRequestException, match="together"):
        comprehend.create_entity_recognizer(**base)
    base["InputDataConfig"]["Documents"].pop("TestS3Uri")
    base["InputDataConfig"]["EntityTypes"] = [{"Type": "person"}]
    with pytest.raises(errors.InvalidRequestException, match="upper case"):
        comprehend.create_entity_recognizer(**base)
    assert comprehend.list_entity_recognizers()["EntityRecognizerPropertiesList"] == []


def test_same_version_twice_is_in_use_unless_the_request_token_repeats(comprehend: Any, s3: Any) -> None:
    arn = create_recognizer(comprehend, s3, token="t-1")
    assert create_recognizer(comprehend, s3, token="t-1") == arn
    with pytest.raises(comprehend.exceptions.ResourceInUseException):
        create_recognizer(comprehend, s3, token="t-2")
    wait_done(comprehend, arn)


def test_list_filters_by_name_and_status(comprehend: Any, s3: Any) -> None:
    first = trained(comprehend, s3, name="alpha")
    second = trained(comprehend, s3, name="beta")
    listed = comprehend.list_entity_recognizers(Filter={"RecognizerName": "beta"})[
        "EntityRecognizerPropertiesList"
    ]
    assert [r["EntityRecognizerArn"] for r in listed] == [second]
    trained_ones = comprehend.list_entity_recognizers(Filter={"Status": "TRAINED"})[
        "EntityRecognizerPropertiesList"
    ]
    assert {r["EntityRecognizerArn"] for r in trained_ones} == {first, second}


def test_stop_training_ends_stopped(make_service: Any, s3: Any) -> None:
    comprehend = client_for(make_service(async_delay_s=0.3))
    arn = create_recognizer(comprehend, s3)
    comprehend.stop_training_entity_recognizer(EntityRecognizerArn=arn)
    props = wait_for(lambda: properties(comprehend, arn), lambda p: p["Status"] in ("STOPPED", "TRAINED"))
    assert props["Status"] == "STOPPED"


def test_delete_waits_for_endpoints_to_go(comprehend: Any, s3: Any) -> None:
    arn = trained(comprehend, s3)
    endpoint = create_endpoint(comprehend, arn)
    with pytest.raises(comprehend.exceptions.ResourceInUseException, match="endpoint"):
        comprehend.delete_entity_recognizer(EntityRecognizerArn=arn)
    comprehend.delete_endpoint(EndpointArn=endpoint)
    wait_for(lambda: comprehend.list_endpoints()["EndpointPropertiesList"], lambda e: e == [])
    comprehend.delete_entity_recognizer(EntityRecognizerArn=arn)
    wait_for(
        lambda: comprehend.list_entity_recognizers()["EntityRecognizerPropertiesList"], lambda r: r == []
    )
    with pytest.raises(comprehend.exceptions.ResourceNotFoundException):
        comprehend.describe_entity_recognizer(EntityRecognizerArn=arn)


# --- jobs ---------------------------------------------------------------------------------------------
def test_detection_job_writes_comprehend_output_that_the_layer_reads(comprehend: Any, s3: Any) -> None:
    # Given a trained recognizer and test documents, one per line, one of them empty
    arn = trained(comprehend, s3)
    test = entitygen.generate(20, seed=5)
    lines = [d.text for d in test]
    input_uri = upload(s3, "jobs/in/documents.txt", ("\n".join([*lines[:3], "", *lines[3:]]) + "\n").encode())
    # When an entities-detection job runs over them
    job = comprehend.start_entities_detection_job(
        JobName="test-set",
        EntityRecognizerArn=arn,
        InputDataConfig={"S3Uri": input_uri, "InputFormat": "ONE_DOC_PER_LINE"},
        OutputDataConfig={"S3Uri": f"s3://{BUCKET}/jobs/out/"},
        DataAccessRoleArn=ROLE,
        LanguageCode="en",
    )
    assert job["JobStatus"] == "SUBMITTED" and job["EntityRecognizerArn"] == arn
    props = wait_for(
        lambda: comprehend.describe_entities_detection_job(JobId=job["JobId"])[
            "EntitiesDetectionJobProperties"
        ],
        lambda p: p["JobStatus"] in ("COMPLETED", "FAILED"),
    )
    # Then it completes and writes <prefix>/<acct>-NER-<id>/output/output.tar.gz with one line per document
    assert props["JobStatus"] == "COMPLETED", props.get("Message")
    uri = props["OutputDataConfig"]["S3Uri"]
    assert uri == f"s3://{BUCKET}/jobs/out/123456789012-NER-{job['JobId']}/output/output.tar.gz"
    members = read_tar(s3, uri)
    assert list(members) == ["output"]
    records = [json.loads(line) for line in members["output"].decode().splitlines()]
    assert [r["Line"] for r in records] == [0, 1, 2, *range(4, 21)]
    assert {r["File"] for r in records} == {"documents.txt"}
    first = records[0]["Entities"][0]
    assert set(first) == {"BeginOffset", "EndOffset", "Score", "Text", "Type"}
    assert lines[0][first["BeginOffset"] : first["EndOffset"]] == first["Text"]
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    predictions = read_entities_output(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert len(predictions) == sum(len(r["Entities"]) for r in records) > 20
    listed = comprehend.list_entities_detection_jobs(Filter={"JobName": "test-set"})
    assert [j["JobId"] for j in listed["EntitiesDetectionJobPropertiesList"]] == [job["JobId"]]


def test_job_on_an_untrained_recognizer_is_refused(make_service: Any, s3: Any) -> None:
    comprehend = client_for(make_service(async_delay_s=0.3))
    arn = create_recognizer(comprehend, s3)
    with pytest.raises(comprehend.exceptions.ResourceUnavailableException):
        comprehend.start_entities_detection_job(
            EntityRecognizerArn=arn,
            InputDataConfig={"S3Uri": f"s3://{BUCKET}/x.txt", "InputFormat": "ONE_DOC_PER_LINE"},
            OutputDataConfig={"S3Uri": f"s3://{BUCKET}/out/"},
            DataAccessRoleArn=ROLE,
            LanguageCode="en",
        )
    comprehend.stop_training_entity_recognizer(EntityRecognizerArn=arn)
    wait_for(lambda: properties(comprehend, arn), lambda p: p["Status"] in ("STOPPED", "TRAINED"))


def test_the_layer_adapter_drives_the_service(comprehend: Any, s3: Any) -> None:
    """RecognizerOps (what the workflow uses) against the local service: train, then a test job."""
    docs_uri, ann_uri = put_dataset(s3, "datasets/v1", entitygen.generate(60, seed=1))
    test_docs, test_ann = put_dataset(s3, "test/entities", entitygen.generate(20, seed=9))
    dataset = DatasetRef(
        kind=ModelKind.ENTITY_RECOGNIZER,
        version="d1",
        train_uri=docs_uri,
        train_annotations_uri=ann_uri,
        test_uri=test_docs,
        test_annotations_uri=test_ann,
        test_version="t1",
        documents=60,
        label_counts=entitygen.type_counts(entitygen.generate(60, seed=1)),
    )
    ops = RecognizerOps(comprehend)
    arn = ops.start_training(
        name="adapter",
        version="v1",
        dataset=dataset,
        role_arn=ROLE,
        output_uri="",
        language="en",
        tags={"a": "b"},
    )
    status = wait_for(lambda: ops.describe_training(arn), lambda s: s.done or s.failed)
    assert status.done and status.metrics["F1Score"] > 80
    job_id = ops.start_test_job(
        model_arn=arn,
        job_name="t",
        input_uri=test_docs,
        output_uri=f"s3://{BUCKET}/o/",
        role_arn=ROLE,
        language="en",
    )
    job = wait_for(lambda: ops.describe_test_job(job_id), lambda s: s.done or s.failed)
    assert job.done and job.output_uri.endswith("/output/output.tar.gz")


# --- endpoints and DetectEntities ---------------------------------------------------------------------
def test_endpoint_serves_detect_entities(comprehend: Any, s3: Any) -> None:
    # Given an endpoint on a trained recognizer
    endpoint = create_endpoint(comprehend, trained(comprehend, s3), name="news-ner")
    assert endpoint == "arn:aws:comprehend:us-east-1:123456789012:entity-recognizer-endpoint/news-ner"
    # When a sentence is sent to it
    text = (
        "Shares of Harborview Energy Corp. (NYSE: QXT) rose 4.2% on Monday after Priya Tanaka, its CFO, spoke"
    )
    entities = comprehend.detect_entities(Text=text, EndpointArn=endpoint)["Entities"]
    # Then the entities come back with offsets into the text, scores and the custom types
    found = {(e["Text"], e["Type"]) for e in entities}
    assert ("QXT", "TICKER") in found and ("Priya Tanaka", "PERSON") in found
    for e in entities:
        assert text[e["BeginOffset"] : e["EndOffset"]] == e["Text"] and 0 < e["Score"] <= 1
    listed = comprehend.list_endpoints()["EndpointPropertiesList"]
    assert [e["EndpointArn"] for e in listed] == [endpoint]


def test_detect_entities_limits_text_to_5000_bytes(comprehend: Any, s3: Any) -> None:
    endpoint = create_endpoint(comprehend, trained(comprehend, s3))
    assert comprehend.detect_entities(Text="é" * 2500, EndpointArn=endpoint)["Entities"] is not None
    with pytest.raises(comprehend.exceptions.TextSizeLimitExceededException, match="5000 bytes"):
        comprehend.detect_entities(Text="é" * 2500 + "x", EndpointArn=endpoint)


def test_detect_entities_refuses_other_endpoints_and_built_in_detection(comprehend: Any, s3: Any) -> None:
    classifier_endpoint = "arn:aws:comprehend:us-east-1:123456789012:document-classifier-endpoint/x"
    with pytest.raises(
        comprehend.exceptions.InvalidRequestException, match="not a entity-recognizer endpoint"
    ):
        comprehend.detect_entities(Text="hello", EndpointArn=classifier_endpoint)
    with pytest.raises(comprehend.exceptions.InvalidRequestException, match="built-in"):
        comprehend.detect_entities(Text="hello", LanguageCode="en")


# --- persistence --------------------------------------------------------------------------------------
def test_a_restarted_service_keeps_trained_models_and_fails_work_in_flight(
    make_service: Any, s3: Any, tmp_path: Path
) -> None:
    # Given a trained recognizer, and another one still training when the service stops
    first = make_service(tmp_path / "kept")
    comprehend = client_for(first)
    done = trained(comprehend, s3)
    first.async_delay_s = 5
    pending = create_recognizer(comprehend, s3, name="pending")
    first.stop()
    # When a new service starts on the same state directory
    comprehend = client_for(make_service(tmp_path / "kept"))
    # Then the trained recognizer serves again and the interrupted one ended IN_ERROR
    assert properties(comprehend, done)["Status"] == "TRAINED"
    interrupted = properties(comprehend, pending)
    assert interrupted["Status"] == "IN_ERROR" and "restarted" in interrupted["Message"]
    endpoint = create_endpoint(comprehend, done)
    assert comprehend.detect_entities(
        Text="Analysts at Nova Group upgraded Crescent Foods (ZZT).", EndpointArn=endpoint
    )
