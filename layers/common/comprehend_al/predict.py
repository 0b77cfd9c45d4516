"""Real-time classification (``POST /classify``) and user corrections (``POST /feedback``).

``classify``: the active endpoint's ARN comes from SSM (``/<prefix>/classifier/active-endpoint-arn``,
cached ``PARAMETER_MAX_AGE`` seconds by Powertools). When ClassifyDocument says the endpoint is gone or
not serving (the lifecycle replaced it), the parameter is fetched again once and the call retried; with
no active endpoint the API answers 503. Each prediction is recorded in the predictions table; an
uncertain one may be sent to human review (:mod:`comprehend_al.review`, :mod:`comprehend_al.a2i`).

Document text and the predictions table (privacy by default):

* ``PRED#<id>`` / ``PREDICTION``: model version, label, scores, time, ``expires_at`` (TTL,
  ``PREDICTION_TTL_DAYS``). The text is stored only when ``STORE_PREDICTION_TEXT=true``.
* ``PRED#<id>`` / ``REVIEW``: only for a prediction selected for review: its text, the label choices and
  the human loop, with its own TTL (``REVIEW_TTL_DAYS``). Review needs the text anyway (it is in the loop's
  input), and keeping it here lets ``/feedback`` by prediction id work for those predictions.

So ``/feedback {"prediction_id", "label"}`` finds the text when it was kept (stored predictions or
reviewed ones); otherwise it answers 400 ``text_not_retained`` and the client sends the text as well.

``feedback``: the corrected label is checked against the model's labels (those of the prediction, or the
active model's from the registry for feedback by text) unless ``ALLOW_NEW_LABELS=true``; the row goes to
the label buffer (:mod:`comprehend_al.labels`), which turns full batches into training uploads.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar

import boto3
from aws_lambda_powertools.event_handler import Response, content_types
from boto3.dynamodb.conditions import Key
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from comprehend_al.a2i import HumanReview, ReviewItem, loop_name, review_input
from comprehend_al.aws.comprehend import CLIENT_CONFIG
from comprehend_al.aws.errors import aws_call
from comprehend_al.aws.s3 import Bucket
from comprehend_al.config import Settings, get_settings
from comprehend_al.datasets.classification import label_problems, text_hash
from comprehend_al.errors import (
    ComprehendThrottled,
    InvalidField,
    InvalidRequest,
    ModelNotReady,
    PredictionNotFound,
    ResourceInUse,
    ResourceNotFound,
    ServiceUnavailable,
    TextNotRetained,
    UnknownLabel,
    WorkflowError,
)
from comprehend_al.labels import (
    CachedParameters,
    LabelBuffer,
    LabelDeps,
    LabelRow,
    LoopSettings,
    buffer_rows,
    get_loop_settings,
)
from comprehend_al.models import ModelKind
from comprehend_al.observability import logger
from comprehend_al.registry import Registry, version_of_arn
from comprehend_al.review import Assessment, ReviewGate, ReviewPolicy, assess

MAX_TEXT_BYTES = 10_000  # ClassifyDocument's limit (UTF-8 bytes)
ACTIVE_ENDPOINT = "classifier/active-endpoint-arn"
ACTIVE_MODEL = "classifier/active-model-arn"
REVIEW_STRATEGY = "review-strategy"
REVIEW_THRESHOLD = "review-threshold"
REVIEW_BUDGET = "review-daily-budget"
REVIEW_FLOW = "review-flow-definition-arn"


# --- requests -------------------------------------------------------------------------------------------
def check_text(text: str, field_name: str = "text") -> str:
    if not text.strip():
        raise InvalidField(f"{field_name} must not be empty", field=field_name, code="empty_text")
    size = len(text.encode("utf-8"))
    if size > MAX_TEXT_BYTES:
        raise InvalidField(
            f"{field_name} is {size} bytes of UTF-8; the limit is {MAX_TEXT_BYTES}",
            field=field_name,
            code="text_too_large",
        )
    return text


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ClassifyRequest(_Request):
    text: str

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        return check_text(value)


class FeedbackRequest(_Request):
    label: str | list[str]
    prediction_id: str | None = None
    text: str | None = None

    @field_validator("text")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return None if value is None else check_text(value)

    def labels(self, *, multi_label: bool, delimiter: str) -> tuple[str, ...]:
        raw = [self.label] if isinstance(self.label, str) else list(self.label)
        if multi_label:
            raw = [part for value in raw for part in value.split(delimiter)]
        labels = tuple(dict.fromkeys(label.strip() for label in raw if label.strip()))
        if not labels:
            raise InvalidField("label must not be empty", field="label")
        if not multi_label and len(labels) != 1:
            raise InvalidField("a multi-class model takes exactly one label", field="label")
        return labels


M = TypeVar("M", bound=_Request)


def parse_request(body: str | bytes | None, model: type[M]) -> M:
    """A JSON request body validated by ``model``; ``InvalidField`` naming the field otherwise."""
    if body is None or (isinstance(body, str | bytes) and not body.strip()):
        raise InvalidField("the request body must be a JSON object", code="invalid_json")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidField(f"the request body is not valid JSON: {error}", code="invalid_json") from error
    if not isinstance(data, dict):
        raise InvalidField("the request body must be a JSON object", code="invalid_json")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or None
        raise InvalidField(f"{where}: {first.get('msg')}", field=where) from error


# --- responses ------------------------------------------------------------------------------------------
class ClassScore(BaseModel):
    Name: str
    Score: float


class ReviewDecision(BaseModel):
    selected: bool
    strategy: str
    uncertainty: float
    reason: str  # selected | confident | duplicate | budget_exhausted | review_not_configured | review_failed
    human_loop_name: str | None = None


class PredictionResponse(BaseModel):
    prediction_id: str
    label: str
    score: float
    classes: list[ClassScore]
    model_version: str | None
    review: ReviewDecision


class FeedbackResponse(BaseModel):
    status: str = "buffered"
    prediction_id: str | None
    labels: list[str]
    pending: int  # rows waiting in the buffer after this one
    upload: str | None  # the training upload this feedback completed (retraining starts), if any


def json_response(status: int, body: Any) -> Response[str]:
    """An API Gateway response with a JSON body."""
    return Response(status, content_types.APPLICATION_JSON, json.dumps(body))


def error_response(error: Exception, operation: str) -> Response[str]:
    """The API's answer to an error (``error_body``); server-side errors are logged, client ones not."""
    status, body = error_body(error)
    if status >= 500:
        logger.exception(f"{operation} failed", extra={"error": type(error).__name__})
    return json_response(status, body)


def error_body(error: Exception) -> tuple[int, dict[str, Any]]:
    """HTTP status and ``{"error": {"code", "message", "field"}}`` for an error (no internals leaked)."""
    if isinstance(error, InvalidField):
        return 400, _error(error.code, str(error), error.field)
    if isinstance(error, PredictionNotFound):
        return 404, _error("prediction_not_found", str(error), "prediction_id")
    if isinstance(error, ModelNotReady):
        return 503, _error("model_not_ready", str(error), None)
    if isinstance(error, InvalidRequest):
        return 400, _error("invalid_request", str(error), None)
    if isinstance(error, ComprehendThrottled):
        return 429, _error("throttled", "too many requests: retry with backoff", None)
    if isinstance(error, ServiceUnavailable | ResourceInUse):
        return 503, _error("service_unavailable", "a service is temporarily unavailable: retry", None)
    return 500, _error("internal_error", "internal error", None)


def _error(code: str, message: str, field_name: str | None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field_name}}


# --- the predictions table ------------------------------------------------------------------------------
class PredictionStore:
    def __init__(self, table_name: str, resource: Any | None = None) -> None:
        self.table = (resource or boto3.resource("dynamodb")).Table(table_name)

    def put(self, item: dict[str, Any]) -> None:
        with aws_call("PutItem prediction"):
            self.table.put_item(Item=_to_dynamo(item))

    def get(self, prediction_id: str) -> dict[str, Any] | None:
        """The prediction, with ``text`` from the review item when only that one kept it."""
        with aws_call("Query prediction"):
            items = self.table.query(
                KeyConditionExpression=Key("pk").eq(f"PRED#{prediction_id}"), ConsistentRead=True
            ).get("Items", [])
        by_sk = {str(i["sk"]): _from_dynamo(i) for i in items}
        prediction = by_sk.get("PREDICTION")
        if prediction is None:
            return None
        review = by_sk.get("REVIEW") or {}
        if "text" not in prediction and "text" in review:
            prediction["text"] = review["text"]
        return prediction


def _to_dynamo(value: Any) -> Any:
    return json.loads(json.dumps(value), parse_float=Decimal)


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    return value


# --- dependencies ---------------------------------------------------------------------------------------
@dataclass
class PredictDeps:
    settings: Settings
    loop: LoopSettings
    params: CachedParameters
    comprehend: Any  # boto3 Comprehend client
    store: PredictionStore
    gate: ReviewGate
    review: HumanReview
    labels: LabelDeps
    registry: Registry
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    new_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    _model_labels: dict[str, list[str]] = field(default_factory=dict)


@lru_cache(maxsize=1)
def default_predict_deps() -> PredictDeps:
    settings, loop = get_settings(), get_loop_settings()
    params = CachedParameters(settings.parameter_prefix, loop.parameter_max_age)
    return PredictDeps(
        settings=settings,
        loop=loop,
        params=params,
        comprehend=boto3.client("comprehend", config=CLIENT_CONFIG),
        store=PredictionStore(loop.predictions_table),
        gate=ReviewGate(loop.predictions_table),
        review=HumanReview(),
        labels=LabelDeps(
            settings=settings,
            loop=loop,
            buffer=LabelBuffer(loop.label_buffer_table, lock_seconds=loop.flush_lock_seconds),
            bucket=Bucket(settings.data_bucket),
            params=params,
        ),
        registry=Registry(settings.registry_table),
    )


# --- classify -------------------------------------------------------------------------------------------
def _classify_document(deps: PredictDeps, endpoint_arn: str, text: str) -> list[ClassScore]:
    with aws_call("ClassifyDocument"):
        response = deps.comprehend.classify_document(Text=text, EndpointArn=endpoint_arn)
    raw = response.get("Classes") or response.get("Labels") or []
    classes = [ClassScore(Name=str(c["Name"]), Score=float(c["Score"])) for c in raw]
    return sorted(classes, key=lambda c: (-c.Score, c.Name))


def _model_version(deps: PredictDeps, *, force: bool = False) -> str | None:
    arn = deps.params.get(ACTIVE_MODEL, force=force)
    try:
        return version_of_arn(arn) if arn else None
    except ResourceNotFound:
        return None


def _call_active_endpoint(deps: PredictDeps, text: str) -> tuple[list[ClassScore], str | None]:
    """Classify with the active endpoint; on a replaced endpoint, refetch its ARN once and retry."""
    endpoint = deps.params.get(ACTIVE_ENDPOINT)
    force = False
    for attempt in (1, 2):
        if endpoint is None:
            raise ModelNotReady("no classifier is active yet: upload labelled data to train the first model")
        try:
            classes = _classify_document(deps, endpoint, text)
            return classes, _model_version(deps, force=force)
        except (ResourceNotFound, ResourceInUse) as error:
            if attempt == 2:
                raise ModelNotReady("the active classifier endpoint is not serving; retry shortly") from error
            logger.info(
                "active endpoint not serving: refetching its ARN", extra={"error": type(error).__name__}
            )
            endpoint, force = deps.params.get(ACTIVE_ENDPOINT, force=True), True
    raise ModelNotReady("unreachable")  # pragma: no cover


def _policy(deps: PredictDeps) -> ReviewPolicy:
    try:
        return ReviewPolicy.parse(
            deps.params.get(REVIEW_STRATEGY),
            deps.params.get(REVIEW_THRESHOLD),
            deps.params.get(REVIEW_BUDGET),
        )
    except ValueError as error:
        logger.error("review parameters invalid: defaults used", extra={"error": str(error)})
        return ReviewPolicy()


def _decide(
    deps: PredictDeps,
    prediction_id: str,
    text: str,
    classes: list[ClassScore],
    assessment: Assessment,
    budget: int,
) -> ReviewDecision:
    decision = ReviewDecision(
        selected=False,
        strategy=assessment.strategy.value,
        uncertainty=assessment.uncertainty,
        reason="confident",
    )
    if not assessment.uncertain:
        return decision
    flow = deps.params.get(REVIEW_FLOW)
    if not flow:
        return decision.model_copy(update={"reason": "review_not_configured"})
    digest = text_hash(text)
    if not deps.gate.claim_text(digest, prediction_id):
        return decision.model_copy(update={"reason": "duplicate"})
    if not deps.gate.take_budget(budget):
        deps.gate.release_text(digest, prediction_id)
        return decision.model_copy(update={"reason": "budget_exhausted"})
    name = loop_name(prediction_id)
    item = ReviewItem(prediction_id, text, tuple((c.Name, c.Score) for c in classes))
    content = review_input([item], [c.Name for c in classes], multi_label=deps.settings.multi_label)
    try:
        deps.review.start(name, flow, content)
    except WorkflowError as error:
        logger.error(
            "human loop not started", extra={"error": type(error).__name__, "prediction_id": prediction_id}
        )
        deps.gate.release_text(digest, prediction_id)
        deps.gate.return_budget()
        return decision.model_copy(update={"reason": "review_failed"})
    return decision.model_copy(update={"selected": True, "reason": "selected", "human_loop_name": name})


def classify(request: ClassifyRequest, deps: PredictDeps | None = None) -> PredictionResponse:
    deps = deps or default_predict_deps()
    classes, model_version = _call_active_endpoint(deps, request.text)
    if not classes:
        raise ServiceUnavailable("ClassifyDocument returned no classes")
    prediction_id = deps.new_id()
    policy = _policy(deps)
    assessment = assess([c.Score for c in classes], policy.strategy, policy.threshold)
    review = _decide(deps, prediction_id, request.text, classes, assessment, policy.daily_budget)
    now = deps.clock()
    response = PredictionResponse(
        prediction_id=prediction_id,
        label=classes[0].Name,
        score=classes[0].Score,
        classes=classes,
        model_version=model_version,
        review=review,
    )
    item: dict[str, Any] = {
        "pk": f"PRED#{prediction_id}",
        "sk": "PREDICTION",
        "prediction_id": prediction_id,
        "model_version": model_version,
        "label": response.label,
        "score": response.score,
        "classes": [c.model_dump() for c in classes],
        "review": review.model_dump(),
        "created_at": now.isoformat(),
        "expires_at": int((now + timedelta(days=deps.loop.prediction_ttl_days)).timestamp()),
    }
    if deps.loop.store_prediction_text:
        item["text"] = request.text
    deps.store.put(item)
    if review.selected:
        deps.store.put(
            {
                "pk": f"PRED#{prediction_id}",
                "sk": "REVIEW",
                "text": request.text,
                "labels": sorted(c.Name for c in classes),
                "human_loop_name": review.human_loop_name,
                "created_at": now.isoformat(),
                "expires_at": int((now + timedelta(days=deps.loop.review_ttl_days)).timestamp()),
            }
        )
    logger.info(
        "classified",
        extra={
            "prediction_id": prediction_id,
            "model_version": model_version,
            "score": response.score,
            "review": review.reason,
        },
    )
    return response


# --- feedback -------------------------------------------------------------------------------------------
def active_model_labels(deps: PredictDeps) -> tuple[str | None, list[str]]:
    """(version, labels) of the active classifier, from SSM and the registry's dataset version."""
    version = _model_version(deps)
    if version is None:
        raise ModelNotReady("no classifier is active yet: its labels are unknown")
    if version not in deps._model_labels:
        model = deps.registry.model(ModelKind.CLASSIFIER, version) or {}
        dataset_version = model.get("dataset_version")
        labels: list[str] = []
        if dataset_version:
            with aws_call("GetItem dataset"):
                item = deps.registry.table.get_item(
                    Key={"pk": f"DATASET#{ModelKind.CLASSIFIER.value}", "sk": str(dataset_version)}
                ).get("Item")
            dataset: dict[str, Any] = dict((item or {}).get("dataset") or {})  # type: ignore[arg-type]
            labels = sorted(dataset.get("label_counts") or {})
        if not labels:
            raise ModelNotReady(f"the labels of the active model {version} are not in the registry")
        deps._model_labels[version] = labels
    return version, deps._model_labels[version]


def feedback(request: FeedbackRequest, deps: PredictDeps | None = None) -> FeedbackResponse:
    deps = deps or default_predict_deps()
    settings = deps.settings
    labels = request.labels(multi_label=settings.multi_label, delimiter=settings.label_delimiter)
    if request.prediction_id is not None:
        prediction = deps.store.get(request.prediction_id)
        if prediction is None:
            raise PredictionNotFound(f"no prediction {request.prediction_id!r} (unknown or expired)")
        known = sorted(c["Name"] for c in prediction.get("classes", []))
        model_version = prediction.get("model_version")
        text = request.text or prediction.get("text")
        if not text:
            raise TextNotRetained(
                "the text of this prediction was not kept: send it with the label", field="text"
            )
        row_id = f"feedback-{request.prediction_id}"
    elif request.text is not None:
        model_version, known = (None, []) if deps.loop.allow_new_labels else active_model_labels(deps)
        text = request.text
        row_id = f"feedback-text-{text_hash(text)}"
    else:
        raise InvalidField("send prediction_id or text", field="prediction_id")
    for label in labels:
        problems = label_problems(
            label, multi_label=settings.multi_label, delimiter=settings.label_delimiter, max_chars=5000
        )
        if problems:
            raise InvalidField("; ".join(problems), field="label")
        if not deps.loop.allow_new_labels and label not in known:
            raise UnknownLabel(
                f"label {label!r} is not one of the model's labels: {', '.join(known)}", field="label"
            )
    row = LabelRow(
        row_id=row_id,
        labels=labels,
        text=text,
        source="feedback",
        prediction_id=request.prediction_id,
        model_version=model_version,
    )
    pending, flush = buffer_rows([row], deps.labels)
    logger.info("feedback buffered", extra={"prediction_id": request.prediction_id, "pending": pending})
    return FeedbackResponse(
        prediction_id=request.prediction_id,
        labels=list(labels),
        pending=pending,
        upload=flush.key if flush else None,
    )
