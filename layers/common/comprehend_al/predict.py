"""Real-time classification (``POST /classify``); the request models of ``/classify`` and ``/feedback``.

``classify``: the active endpoint's ARN comes from the active pointer (cached ``PARAMETER_MAX_AGE`` s).
When ClassifyDocument says the endpoint is gone or not serving (replaced), the pointer is read again once
and the call retried; with no active endpoint the API answers 503. Each prediction is recorded in the
predictions table (and in the live counters of :mod:`comprehend_al.traffic`); an uncertain one
(:mod:`comprehend_al.review`) is buffered, and the scheduled ``SelectReview`` function
(:mod:`comprehend_al.review_selection`) picks the day's budget among them for human review.

Document text and the predictions table (privacy by default):

* ``PRED#<id>`` / ``PREDICTION``: model version, label, scores, time, ``expires_at`` (TTL,
  ``PREDICTION_TTL_DAYS``). The text is stored only when ``STORE_PREDICTION_TEXT=true``.
* ``PRED#<id>`` / ``REVIEW``: only for a prediction selected for review: its text, the label choices and
  the human loop, with its own TTL (``REVIEW_TTL_DAYS``). Review needs the text anyway (it is in the loop's
  input), and keeping it here lets ``/feedback`` by prediction id work for those predictions.

So ``/feedback {"prediction_id", "label"}`` finds the text when it was kept (stored predictions or
reviewed ones); otherwise it answers 400 ``text_not_retained`` and the client sends the text as well.
``/feedback`` itself is :mod:`comprehend_al.feedback`; the HTTP plumbing both share is
:mod:`comprehend_al.api`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, field_validator

from comprehend_al.api import Request, check_text
from comprehend_al.aws.errors import aws_call
from comprehend_al.aws.ssm import CachedParameters
from comprehend_al.errors import (
    ComprehendThrottled,
    ModelNotReady,
    ResourceInUse,
    ResourceNotFound,
    ServiceUnavailable,
)
from comprehend_al.hierarchy import FLAT, Level, decode_class, levels
from comprehend_al.kinds import spec
from comprehend_al.labels import LabelDeps
from comprehend_al.models import ModelKind
from comprehend_al.observability import emit, logger
from comprehend_al.pointers import Pointers
from comprehend_al.review import REVIEW_FLOW, assess, review_policy
from comprehend_al.routing import route
from comprehend_al.settings import LoopSettings, Settings
from comprehend_al.store.predictions import PredictionStore
from comprehend_al.store.registry import Registry
from comprehend_al.store.review_gate import ReviewGate
from comprehend_al.traffic import Traffic

MAX_TEXT_BYTES = spec(ModelKind.CLASSIFIER).max_text_bytes  # ClassifyDocument's limit (UTF-8 bytes)
CLASSIFIER = ModelKind.CLASSIFIER
PREDICTION_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # ours are UUIDs; a bound keeps the table key valid


# --- requests -------------------------------------------------------------------------------------------
class ClassifyRequest(Request):
    text: str

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        return check_text(value, MAX_TEXT_BYTES)


# --- responses ------------------------------------------------------------------------------------------
class ClassScore(BaseModel):
    Name: str
    Score: float


class ReviewDecision(BaseModel):
    selected: bool  # always False here: SelectReview picks among the queued predictions later
    strategy: str
    uncertainty: float
    reason: str  # queued (buffered for the next selection) | confident | review_not_configured
    human_loop_name: str | None = None


class PredictionResponse(BaseModel):
    prediction_id: str
    label: str
    score: float
    classes: list[ClassScore]
    model_version: str | None
    review: ReviewDecision
    language: str | None = None  # the detected language, when routing by language (comprehend_al.routing)
    line: str | None = None  # the model line that answered, when not the default one
    fallback: bool = False  # answered by the fallback line, not a model of the text's language
    path: str | None = None  # TAXONOMY set: the label path, parent first (comprehend_al.hierarchy)
    levels: list[Level] | None = None  # TAXONOMY set: each level's label and score


# --- dependencies ---------------------------------------------------------------------------------------
@dataclass
class PredictDeps:
    settings: Settings
    loop: LoopSettings
    params: CachedParameters
    comprehend: Any  # boto3 Comprehend client
    store: PredictionStore
    gate: ReviewGate
    labels: LabelDeps
    registry: Registry
    traffic: Traffic | None = None  # live counters for monitoring (drift, live accuracy, open reviews)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    new_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    _model_labels: dict[str, list[str]] = field(default_factory=dict)
    line: str = ""  # the model line that serves this request (comprehend_al.lines)

    @property
    def pointers(self) -> Pointers:
        return Pointers(self.params, line=self.line)

    def serving(self, line: str) -> bool:  # does the model line have an active classifier?
        return self.pointers.for_line(line).read(CLASSIFIER).serving


# --- classify -------------------------------------------------------------------------------------------
def _classify_document(deps: PredictDeps, endpoint_arn: str, text: str) -> list[ClassScore]:
    with aws_call("ClassifyDocument"):
        response = deps.comprehend.classify_document(Text=text, EndpointArn=endpoint_arn)
    raw = response.get("Classes") or response.get("Labels") or []
    name = decode_class if deps.settings.taxonomy == FLAT else str  # a flat model's class names: paths
    classes = [ClassScore(Name=name(str(c["Name"])), Score=float(c["Score"])) for c in raw]
    return sorted(classes, key=lambda c: (-c.Score, c.Name))


def model_version(deps: PredictDeps, *, force: bool = False) -> str | None:
    return deps.pointers.read(CLASSIFIER, fresh=force).version


def _call_active_endpoint(deps: PredictDeps, text: str) -> tuple[list[ClassScore], str | None]:
    """Classify with the active endpoint; on a replaced endpoint, refetch the pointer once and retry.
    Endpoint and model version come from one read of the pointer: the version is the one it serves."""
    active = deps.pointers.read(CLASSIFIER)
    for attempt in (1, 2):
        if active.endpoint_arn is None:
            raise ModelNotReady("no classifier is active yet: upload labelled data to train the first model")
        try:
            return _classify_document(deps, active.endpoint_arn, text), active.version
        except ComprehendThrottled:
            emit("ComprehendThrottles", CLASSIFIER.value)
            raise
        except (ResourceNotFound, ResourceInUse) as error:
            if attempt == 2:
                raise ModelNotReady("the active classifier endpoint is not serving; retry shortly") from error
            logger.info(
                "active endpoint not serving: refetching its ARN", extra={"error": type(error).__name__}
            )
            active = deps.pointers.read(CLASSIFIER, fresh=True)
    raise ModelNotReady("unreachable")  # pragma: no cover


def _levels(deps: PredictDeps, text: str, classes: list[ClassScore], version: str | None) -> Any:
    def classify_line(line: str) -> tuple[list[tuple[str, float]], str | None]:
        found, found_version = _call_active_endpoint(replace(deps, line=line), text)
        return [(c.Name, c.Score) for c in found], found_version

    ranked = [(c.Name, c.Score) for c in classes]
    return levels(deps.settings.taxonomy, ranked, version, deps.serving, classify_line)


def _decide(
    deps: PredictDeps, version: str | None, prediction_id: str, text: str, classes: list[ClassScore]
) -> ReviewDecision:
    """Buffer an uncertain prediction for the next review selection (``SelectReview``)."""
    policy = review_policy(deps.params)
    assessment = assess([c.Score for c in classes], policy.strategy, policy.threshold)
    decision = ReviewDecision(
        selected=False,
        strategy=assessment.strategy.value,
        uncertainty=assessment.uncertainty,
        reason="confident",
    )
    if not assessment.uncertain:
        return decision
    if policy.daily_budget == 0 or not deps.params.get(REVIEW_FLOW):
        return decision.model_copy(update={"reason": "review_not_configured"})
    deps.gate.buffer(prediction_id, text, [c.model_dump() for c in classes], version, deps.line)
    return decision.model_copy(update={"reason": "queued"})


def classify(request: ClassifyRequest, deps: PredictDeps) -> PredictionResponse:
    chosen = route(request.text, deps.settings, deps.comprehend, deps.serving)
    deps = replace(deps, line=chosen.line) if chosen.line else deps
    classes, model_version = _call_active_endpoint(deps, request.text)
    if not classes:
        raise ServiceUnavailable("ClassifyDocument returned no classes")
    prediction_id = deps.new_id()
    review = _decide(deps, model_version, prediction_id, request.text, classes)
    path = _levels(deps, request.text, classes, model_version)
    now = deps.clock()
    response = PredictionResponse(
        prediction_id=prediction_id,
        label=classes[0].Name,
        score=classes[0].Score,
        classes=classes,
        model_version=model_version,
        review=review,
        language=chosen.language,
        line=chosen.line or None,
        fallback=chosen.fallback,
        path="/".join(level.label for level in path) if path else None,
        levels=path,
    )
    item: dict[str, Any] = {
        "pk": f"PRED#{prediction_id}",
        "sk": "PREDICTION",
        "prediction_id": prediction_id,
        "model_version": model_version,
        "line": chosen.line,
        "levels": [level.model_dump() for level in path] if path else None,
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
    if deps.traffic:
        deps.traffic.classified(model_version, response.label, response.score, request.text, now)
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
