"""POST /analyze: the real handler, called with API Gateway HTTP API (v2) events inside the offline stack.

The stack's template is deployed into moto; the local Comprehend service serves one entity-recognizer and
one classifier endpoint, named the way the workflow names them; each test points SSM at what it needs. The
local A2I runtime takes the entity review loops.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import fnmatch
import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from comprehend_al import wiring
from comprehend_al.lifecycle import endpoint_name
from comprehend_al.models import ModelKind
from comprehend_al.pointers import ACTIVE, ACTIVE_ENDPOINT, ACTIVE_MODEL, Pointers
from comprehend_al.settings import Settings

from local import datagen, entitygen
from local.stack import ROOT, Offline, load_template, running, translate

EVENT = json.loads((ROOT / "events/analyze/analyze.json").read_text())
ROLE = "arn:aws:iam::123456789012:role/comprehend-data-access"
SENTENCE = "Shares of Harborview Energy Corp. (NYSE: QXT) rose 4.2% after Priya Tanaka, its CFO, spoke."


def _wait(read: Any, done: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not done(value := read()):
        assert time.monotonic() < deadline, value
        time.sleep(0.05)
    return value


def _train_and_serve(env: Offline) -> dict[str, str]:
    """One recognizer and one classifier on the local service, each behind two endpoints (old and new)."""
    comprehend = boto3.client("comprehend", endpoint_url=env.comprehend.url, region_name="us-east-1")
    stack = env.stack
    documents, annotations = entitygen.to_files(entitygen.generate(60, seed=1))
    stack.put("manual/ner/documents.txt", documents)
    stack.put("manual/ner/annotations.csv", annotations)
    stack.put("manual/clf/train.csv", datagen.to_csv(datagen.generate(150, seed=1)))
    bucket = f"s3://{stack.bucket}/manual"
    ner = comprehend.create_entity_recognizer(
        RecognizerName="comprehend-al-entity-recognizer",
        VersionName="v20260101-000000-aaaaaa",
        DataAccessRoleArn=ROLE,
        InputDataConfig={
            "EntityTypes": [{"Type": t} for t in entitygen.TYPES],
            "Documents": {"S3Uri": f"{bucket}/ner/documents.txt"},
            "Annotations": {"S3Uri": f"{bucket}/ner/annotations.csv"},
        },
        LanguageCode="en",
    )["EntityRecognizerArn"]
    clf = comprehend.create_document_classifier(
        DocumentClassifierName="comprehend-al-classifier",
        VersionName="v20260101-000000-bbbbbb",
        DataAccessRoleArn=ROLE,
        InputDataConfig={"S3Uri": f"{bucket}/clf/train.csv"},
        LanguageCode="en",
    )["DocumentClassifierArn"]
    _wait(
        lambda: comprehend.describe_entity_recognizer(EntityRecognizerArn=ner)["EntityRecognizerProperties"][
            "Status"
        ],
        lambda s: s == "TRAINED",
    )
    _wait(
        lambda: comprehend.describe_document_classifier(DocumentClassifierArn=clf)[
            "DocumentClassifierProperties"
        ]["Status"],
        lambda s: s == "TRAINED",
    )
    settings = Settings.model_validate({"DATA_BUCKET": "b", "REGISTRY_TABLE": "t", "PARAMETER_PREFIX": "/p"})
    arns = {"ner_model": ner, "clf_model": clf}
    for key, kind, model in (("ner", ModelKind.ENTITY_RECOGNIZER, ner), ("clf", ModelKind.CLASSIFIER, clf)):
        for age in ("old", "new"):
            name = endpoint_name(settings, kind, f"v2026010{1 if age == 'old' else 2}-000000-{key}{age}")
            arns[f"{key}_{age}"] = comprehend.create_endpoint(
                EndpointName=name, ModelArn=model, DesiredInferenceUnits=1
            )["EndpointArn"]
    for key in ("ner_old", "ner_new", "clf_old", "clf_new"):
        _wait(
            lambda k=key: comprehend.describe_endpoint(EndpointArn=arns[k])["EndpointProperties"]["Status"],
            lambda s: s == "IN_SERVICE",
        )
    return arns


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Offline, dict[str, str]]]:
    with running(tmp_path_factory.mktemp("analyze"), review=True) as offline:
        offline.router.cold_start_hooks.append(wiring.reset)
        yield offline, _train_and_serve(offline)


@pytest.fixture
def offline(env: tuple[Offline, dict[str, str]]) -> Iterator[Offline]:
    """The stack with no active model; the Lambda's caches (parameters, clients) start cold."""
    offline, _ = env
    ssm = boto3.client("ssm", region_name="us-east-1")
    yield offline
    for kind in ModelKind:
        for name in (ACTIVE, ACTIVE_MODEL, ACTIVE_ENDPOINT):
            with contextlib.suppress(ssm.exceptions.ParameterNotFound):
                ssm.delete_parameter(Name=f"{offline.stack.parameter_prefix}/{Pointers.key(kind, name)}")
    wiring.reset()


@pytest.fixture
def arns(env: tuple[Offline, dict[str, str]]) -> dict[str, str]:
    return env[1]


def activate(env: Offline, kind: ModelKind, model_arn: str, endpoint_arn: str) -> None:
    env.stack.set_active(kind, model_arn, endpoint_arn)


def post(
    env: Offline, body: Any, *, raw: str | None = None, path: str = "/analyze"
) -> tuple[int, dict[str, Any]]:
    event = copy.deepcopy(EVENT)
    event["body"] = raw if raw is not None else json.dumps(body)
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    result, error = env.router.invoke("AnalyzeFunction", event)
    assert error is None, result
    return int(result["statusCode"]), json.loads(result["body"]) if result.get("body") else {}


@contextlib.contextmanager
def function_env(env: Offline, **values: str) -> Iterator[None]:
    """AnalyzeFunction with some environment variables changed (what a redeploy with other parameters
    does); the changed environment is a cold start, so the layer's caches start empty."""
    environment = env.router.resolve("AnalyzeFunction").environment
    saved = dict(environment)
    environment.update(values)
    try:
        yield
    finally:
        environment.clear()
        environment.update(saved)


def results_table(env: Offline) -> Any:
    return boto3.resource("dynamodb", region_name="us-east-1").Table(
        env.stack.outputs["AnalysisResultsTableName"]
    )


def stored_items(env: Offline) -> list[dict[str, Any]]:
    return list(results_table(env).scan(ConsistentRead=True)["Items"])


def stored(env: Offline, analysis_id: str) -> dict[str, Any]:
    item = results_table(env).get_item(Key={"analysis_id": analysis_id}, ConsistentRead=True).get("Item")
    assert item is not None, analysis_id
    return dict(item)


def test_sample_event_gets_entities_and_classes_from_both_active_endpoints(
    offline: Offline, arns: dict[str, str]
) -> None:
    # Given an active recognizer and an active classifier
    activate(offline, ModelKind.ENTITY_RECOGNIZER, arns["ner_model"], arns["ner_new"])
    activate(offline, ModelKind.CLASSIFIER, arns["clf_model"], arns["clf_new"])
    # When the sample event is posted
    result, error = offline.router.invoke("AnalyzeFunction", copy.deepcopy(EVENT))
    # Then both parts come back with the model versions and the endpoints used
    assert error is None and result["statusCode"] == 200
    body = json.loads(result["body"])
    text = json.loads(EVENT["body"])["text"]
    entities = body["entities"]
    assert (entities["model_version"], entities["endpoint_arn"]) == (
        "v20260101-000000-aaaaaa",
        arns["ner_new"],
    )
    assert {("QXT", "TICKER"), ("Priya Tanaka", "PERSON")} <= {
        (e["Text"], e["Type"]) for e in entities["entities"]
    }
    for e in entities["entities"]:
        assert text[e["BeginOffset"] : e["EndOffset"]] == e["Text"]
    classes = body["classes"]
    assert (classes["model_version"], classes["multi_label"]) == ("v20260101-000000-bbbbbb", False)
    assert classes["classes"][0]["Name"] in datagen.TOPICS and 0 < classes["classes"][0]["Score"] <= 1
    assert body["skipped"] == {} and body["text_bytes"] == len(text.encode())


def test_a_kind_without_an_active_model_is_absent(offline: Offline, arns: dict[str, str]) -> None:
    activate(offline, ModelKind.CLASSIFIER, arns["clf_model"], arns["clf_new"])
    status, body = post(offline, {"text": SENTENCE})
    assert status == 200
    assert body["entities"] is None and body["skipped"] == {"entity_recognizer": "no active model"}
    assert body["classes"]["classes"]


def test_nothing_active_answers_with_both_parts_absent(offline: Offline) -> None:
    status, body = post(offline, {"text": SENTENCE})
    assert status == 200
    assert (body["entities"], body["classes"]) == (None, None)
    assert set(body["skipped"]) == {"entity_recognizer", "classifier"}


def test_classes_and_entities_have_the_casing_of_classify(offline: Offline, arns: dict[str, str]) -> None:
    """One casing across the routes: items relayed from Comprehend keep Comprehend's (PascalCase) keys,
    exactly the class keys /classify returns; the API's own fields are snake_case."""
    activate(offline, ModelKind.ENTITY_RECOGNIZER, arns["ner_model"], arns["ner_new"])
    activate(offline, ModelKind.CLASSIFIER, arns["clf_model"], arns["clf_new"])
    status, body = post(offline, {"text": SENTENCE})
    assert status == 200
    assert {tuple(sorted(c)) for c in body["classes"]["classes"]} == {("Name", "Score")}
    assert {tuple(sorted(e)) for e in body["entities"]["entities"]} == {
        ("BeginOffset", "EndOffset", "Score", "Text", "Type")
    }
    assert set(body) == {"analysis_id", "text_bytes", "entities", "classes", "skipped", "entity_review"}
    assert set(body["classes"]) == {"model_version", "model_arn", "endpoint_arn", "multi_label", "classes"}


@pytest.mark.parametrize(
    ("raw", "code", "field", "message"),
    [
        ('{"text": ""}', "empty_text", "text", "must not be empty"),
        ('{"text": "   "}', "empty_text", "text", "must not be empty"),
        ('{"txt": "hello"}', "invalid_request", "text", "Field required"),
        ('{"text": 42}', "invalid_request", "text", "valid string"),
        ('{"text": "a", "lang": "en"}', "invalid_request", "lang", "unknown field"),
        ("not json", "invalid_json", None, "not valid JSON"),
        ("", "invalid_json", None, "empty"),
        ('["text"]', "invalid_json", None, "JSON object"),
        ('{"text": "\\ud800"}', "invalid_json", "text", "unpaired surrogate"),
        ('{"text": "a", "text": "b"}', "invalid_json", "text", "duplicate key"),
        ("[" * 1_000 + "]" * 1_000, "invalid_json", None, "nested deeper"),
    ],
)
def test_invalid_input_is_a_400_in_the_shared_error_shape(
    offline: Offline, raw: str, code: str, field: str | None, message: str
) -> None:
    status, body = post(offline, None, raw=raw)
    assert status == 400
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    assert (body["error"]["code"], body["error"]["field"]) == (code, field)
    assert message in body["error"]["message"]


def test_invalid_utf8_in_a_base64_body_is_a_400(offline: Offline) -> None:
    """API Gateway base64-encodes a body it does not take for text: invalid UTF-8 inside is the client's."""
    event = copy.deepcopy(EVENT)
    event["body"], event["isBase64Encoded"] = base64.b64encode(b'{"text": "\xff\xfe"}').decode(), True
    result, error = offline.router.invoke("AnalyzeFunction", event)
    assert error is None and result["statusCode"] == 400
    assert json.loads(result["body"])["error"]["code"] == "invalid_json"


def test_text_over_the_entity_limit_is_still_classified(offline: Offline, arns: dict[str, str]) -> None:
    activate(offline, ModelKind.ENTITY_RECOGNIZER, arns["ner_model"], arns["ner_new"])
    activate(offline, ModelKind.CLASSIFIER, arns["clf_model"], arns["clf_new"])
    text = ("My parcel has not arrived. " * 400)[:5_001]
    status, body = post(offline, {"text": text})
    assert status == 200
    assert body["entities"] is None and "5000-byte limit" in body["skipped"]["entity_recognizer"]
    assert body["classes"]["classes"]


def test_text_over_every_limit_is_a_413(offline: Offline, arns: dict[str, str]) -> None:
    activate(offline, ModelKind.ENTITY_RECOGNIZER, arns["ner_model"], arns["ner_new"])
    status, body = post(offline, {"text": "é" * 5_001})  # 10,002 bytes of UTF-8
    assert (status, body["error"]["code"], body["error"]["field"]) == (413, "text_too_large", "text")
    assert "10002 bytes" in body["error"]["message"]
    status, body = post(offline, {"text": "é" * 3_000})  # 6,000 bytes: no classifier to take it
    assert (status, body["error"]["code"]) == (413, "text_too_large")
    assert "no classifier is active" in body["error"]["message"]


def test_a_promotion_is_followed_even_within_the_cache_age(offline: Offline, arns: dict[str, str]) -> None:
    # Given a warm function that has cached the active endpoint
    activate(offline, ModelKind.ENTITY_RECOGNIZER, arns["ner_model"], arns["ner_old"])
    assert post(offline, {"text": SENTENCE})[1]["entities"]["endpoint_arn"] == arns["ner_old"]
    # When a promotion points SSM at a new endpoint and deletes the old one
    activate(offline, ModelKind.ENTITY_RECOGNIZER, arns["ner_model"], arns["ner_new"])
    comprehend = boto3.client("comprehend", endpoint_url=offline.comprehend.url, region_name="us-east-1")
    comprehend.delete_endpoint(EndpointArn=arns["ner_old"])
    _wait(
        lambda: [e["EndpointArn"] for e in comprehend.list_endpoints()["EndpointPropertiesList"]],
        lambda a: arns["ner_old"] not in a,
    )
    # Then the next request still succeeds, on the new endpoint
    status, body = post(offline, {"text": SENTENCE})
    assert status == 200 and body["entities"]["endpoint_arn"] == arns["ner_new"]


def test_unknown_routes_are_not_served(offline: Offline) -> None:
    status, body = post(offline, {"text": SENTENCE}, path="/classify-everything")
    assert (status, body["error"]["code"]) == (404, "not_found")


def test_the_function_may_call_exactly_the_endpoints_the_workflow_creates() -> None:
    """Least privilege: the translated template grants only DetectEntities / ClassifyDocument, each on the
    endpoint names the workflow gives its own kind, SSM reads under the stack's prefix, and PutItem on the
    analysis results table."""
    template = translate(load_template(), {"ResourcePrefix": "comprehend-al"})
    role = template["Resources"]["AnalyzeFunctionRole"]["Properties"]
    statements = [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]

    def resolve(value: Any) -> str:
        text, variables = value, {}
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            logical, attribute = value["Fn::GetAtt"]
            return f"{logical}.{attribute}"
        if isinstance(value, dict):
            text = value["Fn::Sub"]
            if isinstance(text, list):
                text, variables = text[0], {k: resolve(v) for k, v in text[1].items()}
        names = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}
        for key, real in {**names, "ResourcePrefix": "comprehend-al", **variables}.items():
            text = text.replace("${" + key + "}", real)
        return str(text)

    grants: dict[str, list[str]] = {}
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        for action in actions:
            grants.setdefault(action, []).extend(resolve(r) for r in resources)
    assert {a for a in grants if a.startswith("comprehend:")} == {
        "comprehend:DetectEntities",
        "comprehend:ClassifyDocument",
        "comprehend:DescribeEntityRecognizer",  # entity review: the recognizer's types
    }
    assert set(grants) == {
        "ssm:GetParameter",
        "comprehend:DetectEntities",
        "comprehend:ClassifyDocument",
        "comprehend:DescribeEntityRecognizer",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",  # entity review's gate: the day's budget
        "dynamodb:DeleteItem",  # ... a text's claim given back
        "sagemaker:StartHumanLoop",
        "s3:ListBucket",  # ... the gold documents mixed into its loops
        "s3:GetObject",
    }
    assert grants["s3:GetObject"] == ["${DataBucket.Arn}/annotation/gold/*"]
    assert grants["dynamodb:PutItem"] == ["AnalysisResultsTable.Arn", "PredictionsTable.Arn"]
    assert grants["dynamodb:UpdateItem"] == grants["dynamodb:DeleteItem"] == ["PredictionsTable.Arn"]
    assert all("entity-recognizer/comprehend-al-" in r for r in grants["comprehend:DescribeEntityRecognizer"])
    assert not any("*" in resources for resources in grants.values())
    settings = Settings.model_validate(
        {"DATA_BUCKET": "b", "REGISTRY_TABLE": "t", "PARAMETER_PREFIX": "/comprehend-al"}
    )
    prefix = "arn:aws:comprehend:us-east-1:123456789012"
    version = "v20260101-120000-abcdef"
    ner = (
        f"{prefix}:entity-recognizer-endpoint/{endpoint_name(settings, ModelKind.ENTITY_RECOGNIZER, version)}"
    )
    clf = f"{prefix}:document-classifier-endpoint/{endpoint_name(settings, ModelKind.CLASSIFIER, version)}"
    assert any(fnmatch.fnmatchcase(ner, p) for p in grants["comprehend:DetectEntities"])
    assert not any(fnmatch.fnmatchcase(clf, p) for p in grants["comprehend:DetectEntities"])
    assert any(fnmatch.fnmatchcase(clf, p) for p in grants["comprehend:ClassifyDocument"])
    assert not any(fnmatch.fnmatchcase(ner, p) for p in grants["comprehend:ClassifyDocument"])
    parameter = "arn:aws:ssm:us-east-1:123456789012:parameter/comprehend-al/entity_recognizer/active"
    assert any(fnmatch.fnmatchcase(parameter, p) for p in grants["ssm:GetParameter"])
    other_stack = parameter.replace("/comprehend-al/", "/other/")
    assert not any(fnmatch.fnmatchcase(other_stack, p) for p in grants["ssm:GetParameter"])


def test_the_template_protects_the_api_with_iam_and_throttling() -> None:
    api = load_template()["Resources"]["InferenceApi"]["Properties"]
    assert api["Auth"]["DefaultAuthorizer"] == "AWS_IAM"
    assert (
        api["DefaultRouteSettings"]["ThrottlingRateLimit"]
        > 0
        < api["DefaultRouteSettings"]["ThrottlingBurstLimit"]
    )


# --- stored results (StoreAnalysisResults) ---------------------------------------------------------------
def test_results_are_not_stored_by_default(offline: Offline, arns: dict[str, str]) -> None:
    # Given the stack deployed with its default parameters and both models active
    assert offline.router.resolve("AnalyzeFunction").environment["STORE_ANALYSIS_RESULTS"] == "false"
    activate(offline, ModelKind.ENTITY_RECOGNIZER, arns["ner_model"], arns["ner_new"])
    activate(offline, ModelKind.CLASSIFIER, arns["clf_model"], arns["clf_new"])
    before = len(stored_items(offline))
    # When a text is analyzed
    status, body = post(offline, {"text": SENTENCE})
    # Then the answer has no analysis id and nothing was written
    assert status == 200 and body["entities"]["entities"]
    assert body["analysis_id"] is None
    assert len(stored_items(offline)) == before


def test_results_are_stored_without_text_when_enabled(offline: Offline, arns: dict[str, str]) -> None:
    # Given storage on (text storage at its default: off)
    activate(offline, ModelKind.ENTITY_RECOGNIZER, arns["ner_model"], arns["ner_new"])
    activate(offline, ModelKind.CLASSIFIER, arns["clf_model"], arns["clf_new"])
    assert offline.router.resolve("AnalyzeFunction").environment["STORE_ANALYSIS_TEXT"] == "false"
    with function_env(offline, STORE_ANALYSIS_RESULTS="true"):
        # When a text is analyzed
        status, body = post(offline, {"text": SENTENCE})
    # Then the answer names the stored item, which holds the model versions, entities and classes
    assert status == 200 and body["analysis_id"]
    item = stored(offline, body["analysis_id"])
    assert item["entities"]["model_version"] == "v20260101-000000-aaaaaa"
    assert item["entities"]["endpoint_arn"] == arns["ner_new"]
    assert item["classes"]["model_version"] == "v20260101-000000-bbbbbb"
    assert [(e["Type"], e["BeginOffset"], e["EndOffset"]) for e in item["entities"]["entities"]] == [
        (e["Type"], e["BeginOffset"], e["EndOffset"]) for e in body["entities"]["entities"]
    ]
    assert all(isinstance(e["Score"], Decimal) for e in item["entities"]["entities"])
    assert [c["Name"] for c in item["classes"]["classes"]] == [c["Name"] for c in body["classes"]["classes"]]
    assert item["text_bytes"] == len(SENTENCE.encode()) and item["created_at"]
    # And no document text: neither the request's nor any entity's span
    assert "text" not in item
    assert all("Text" not in e for e in item["entities"]["entities"])
    dumped = json.dumps(item, default=str)
    assert not any(e["Text"] in dumped for e in body["entities"]["entities"])
    # While the answer itself still carries the entity texts
    assert {"QXT", "Priya Tanaka"} <= {e["Text"] for e in body["entities"]["entities"]}


def test_text_and_entity_spans_are_stored_only_when_text_storage_is_on(
    offline: Offline, arns: dict[str, str]
) -> None:
    activate(offline, ModelKind.ENTITY_RECOGNIZER, arns["ner_model"], arns["ner_new"])
    with function_env(offline, STORE_ANALYSIS_RESULTS="true", STORE_ANALYSIS_TEXT="true"):
        status, body = post(offline, {"text": SENTENCE})
    assert status == 200
    item = stored(offline, body["analysis_id"])
    assert item["text"] == SENTENCE
    assert [e["Text"] for e in item["entities"]["entities"]] == [
        e["Text"] for e in body["entities"]["entities"]
    ]
    assert "classes" not in item and item["skipped"] == {"classifier": "no active model"}


def test_a_stored_result_expires_after_the_retention_days(offline: Offline, arns: dict[str, str]) -> None:
    activate(offline, ModelKind.CLASSIFIER, arns["clf_model"], arns["clf_new"])
    with function_env(offline, STORE_ANALYSIS_RESULTS="true", ANALYSIS_RETENTION_DAYS="7"):
        before = time.time()
        status, body = post(offline, {"text": SENTENCE})
        after = time.time()
    assert status == 200
    item = stored(offline, body["analysis_id"])
    expires_at = int(item["expires_at"])
    assert before + 7 * 86_400 - 1 <= expires_at <= after + 7 * 86_400
    created = datetime.fromisoformat(item["created_at"])
    assert expires_at == int((created + timedelta(days=7)).timestamp())


def test_a_storage_failure_still_answers_200_without_an_analysis_id(
    offline: Offline, arns: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    # Given storage on, but a table the write cannot reach
    activate(offline, ModelKind.ENTITY_RECOGNIZER, arns["ner_model"], arns["ner_new"])
    before = len(stored_items(offline))
    with function_env(offline, STORE_ANALYSIS_RESULTS="true", ANALYSIS_RESULTS_TABLE="no-such-table"):
        # When a text is analyzed
        status, body = post(offline, {"text": SENTENCE})
    # Then the analysis is answered, without an analysis id, and the failure is a warning without the text
    assert status == 200 and body["entities"]["entities"]
    assert body["analysis_id"] is None
    assert len(stored_items(offline)) == before
    (warning,) = [r for r in caplog.records if r.getMessage() == "analysis result not stored"]
    assert warning.levelname == "WARNING" and vars(warning)["error"] == "ResourceNotFoundException"
    assert SENTENCE not in json.dumps(vars(warning), default=str)


def test_the_results_table_and_its_switches_are_wired_from_the_parameters() -> None:
    template = load_template()
    parameters, resources = template["Parameters"], template["Resources"]
    assert parameters["StoreAnalysisResults"]["Default"] == "false"
    assert parameters["AnalysisRetentionDays"]["Default"] == 30
    variables = resources["AnalyzeFunction"]["Properties"]["Environment"]["Variables"]
    assert variables == {
        "PREDICTIONS_TABLE": {"Ref": "PredictionsTable"},  # entity review's gate
        "ANALYSIS_RESULTS_TABLE": {"Ref": "AnalysisResultsTable"},
        "STORE_ANALYSIS_RESULTS": {"Ref": "StoreAnalysisResults"},
        "STORE_ANALYSIS_TEXT": {"Ref": "StorePredictionText"},
        "ANALYSIS_RETENTION_DAYS": {"Ref": "AnalysisRetentionDays"},
    }
    table = resources["AnalysisResultsTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "analysis_id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["SSESpecification"]["SSEEnabled"] is True and table["BillingMode"] == "PAY_PER_REQUEST"


# --- entity review ---------------------------------------------------------------------------------------
@pytest.fixture
def entity_review(offline: Offline) -> Iterator[Any]:
    """Entity review settings in SSM (``set(threshold=..., budget=...)``), removed after the test."""
    ssm = boto3.client("ssm", region_name="us-east-1")
    prefix = f"{offline.stack.parameter_prefix}/entity_recognizer"
    names: list[str] = []

    def put(**values: str) -> None:
        for key, value in values.items():
            name = f"{prefix}/review-{key.replace('_', '-')}"
            ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
            names.append(name)

    yield put
    for name in names:
        with contextlib.suppress(ssm.exceptions.ParameterNotFound):
            ssm.delete_parameter(Name=name)


def test_an_uncertain_text_goes_to_entity_review_prefilled_with_the_models_spans(
    offline: Offline, arns: dict[str, str], entity_review: Any
) -> None:
    """Given a threshold every recognized text is under, when a text is analyzed, then one entity loop
    holds it with the model's spans and every type of the recognizer; the same text later is not sent."""
    activate(offline, ModelKind.ENTITY_RECOGNIZER, arns["ner_model"], arns["ner_new"])
    entity_review(threshold="1.0", daily_budget="5")
    text = "Shares of Quillon Mining Ltd. (NYSE: ZRKQ) fell after Ines Okafor, its CEO, spoke."

    status, body = post(offline, {"text": text})
    again = post(offline, {"text": text})[1]

    assert status == 200 and body["entity_review"]["selected"], body
    assert again["entity_review"]["reason"] == "duplicate"
    [loop] = [
        p for p in offline.a2i.pending() if p["humanLoopName"] == body["entity_review"]["human_loop_name"]
    ]
    content = loop["inputContent"]
    assert content["kind"] == "entities" and content["types"] == sorted(entitygen.TYPES)
    [item] = content["items"]
    assert item["text"] == text
    spans = {(e["BeginOffset"], e["EndOffset"], e["Type"]) for e in body["entities"]["entities"]}
    assert {(e["BeginOffset"], e["EndOffset"], e["Type"]) for e in item["entities"]} == spans


def test_entity_review_stops_at_the_daily_budget(
    offline: Offline, arns: dict[str, str], entity_review: Any
) -> None:
    activate(offline, ModelKind.ENTITY_RECOGNIZER, arns["ner_model"], arns["ner_new"])
    entity_review(threshold="1.0", daily_budget="0")

    status, body = post(offline, {"text": "Lars Brandt joined Velmora Partners (NASDAQ: VLMP)."})

    assert status == 200 and body["entities"]["entities"]
    assert body["entity_review"]["reason"] == "budget_exhausted"
