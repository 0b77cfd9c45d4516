"""Real-time analysis of one text: entities from the active recognizer, classes from the active classifier.

The active endpoints are the ones the workflow promoted: their ARNs live in SSM
(``<prefix>/<kind>/active-endpoint-arn``, the model's in ``active-model-arn``), read through Powertools
``parameters`` with a cache age, so a promotion reaches every warm Lambda within ``max_age`` seconds.
A kind with no active endpoint (parameter missing or ``none``) is simply absent from the result. An
endpoint that vanished under a cached ARN (the workflow deletes the old endpoint after a promotion) is
retried once with freshly read parameters.

Limits are Comprehend's: DetectEntities on a custom endpoint takes at most 5,000 bytes of UTF-8,
ClassifyDocument at most 10,000. A text over 5,000 bytes is still classified (entities are skipped with
the reason); a text neither model can take is refused.

Requests and errors are the HTTP API's (:mod:`comprehend_al.api`): a text over every limit is 413
``text_too_large``, Comprehend throttling 429 ``throttled``, any other Comprehend failure 503
``service_unavailable``. Classes and entities keep Comprehend's casing (``{Name, Score}``,
``{Text, Type, BeginOffset, EndOffset, Score}``), as ``/classify`` does.

With entity review on (the function has a predictions table: ``PREDICTIONS_TABLE``), each recognized text
is assessed (:mod:`comprehend_al.entity_review`) and an uncertain one sent to people as an entity human loop
pre-filled with the model's spans, under the day's entity budget and at most once per text
(:mod:`comprehend_al.entity_loops`); the decision comes back as ``entity_review``. Review is best effort:
a failure to start a loop is reported in the decision, never instead of the answer.

Results can be kept (``STORE_ANALYSIS_RESULTS=true``) in the analysis results table, one item per request
keyed by ``analysis_id``, with a DynamoDB TTL of ``ANALYSIS_RETENTION_DAYS``: model versions, entity types,
offsets and scores, classes. Document text (the request's, and each entity's span) is kept only when
``STORE_ANALYSIS_TEXT=true``. Storage is best effort: a failed write is logged and the result is returned
without an ``analysis_id``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, Field, field_validator

from comprehend_al.api import Request, check_text
from comprehend_al.entity_loops import EntityReviewDecision, EntityReviewer
from comprehend_al.errors import ComprehendThrottled, ServiceUnavailable, TextTooLarge, WorkflowError
from comprehend_al.kinds import spec
from comprehend_al.models import ModelKind
from comprehend_al.observability import logger
from comprehend_al.pointers import Active, Pointers
from comprehend_al.settings import AnalysisSettings
from comprehend_al.store.analyses import AnalysisResults

MAX_ENTITY_BYTES = spec(ModelKind.ENTITY_RECOGNIZER).max_text_bytes
MAX_CLASSIFY_BYTES = spec(ModelKind.CLASSIFIER).max_text_bytes


class AnalyzeRequest(Request):
    text: str

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        return check_text(value, MAX_CLASSIFY_BYTES)


class Entity(BaseModel):
    """One entity, in DetectEntities' casing (the API's rule: Comprehend's items keep Comprehend's casing)."""

    Text: str
    Type: str
    BeginOffset: int
    EndOffset: int
    Score: float


class ClassScore(BaseModel):
    """One class, in ClassifyDocument's casing, as ``/classify`` returns it."""

    Name: str
    Score: float


class ModelRef(BaseModel):
    model_version: str | None
    model_arn: str | None
    endpoint_arn: str


class EntitiesResult(ModelRef):
    entities: list[Entity]


class ClassesResult(ModelRef):
    multi_label: bool
    classes: list[ClassScore]


class AnalyzeResult(BaseModel):
    analysis_id: str | None = None  # set when the result was stored (STORE_ANALYSIS_RESULTS=true)
    text_bytes: int
    entities: EntitiesResult | None = None
    classes: ClassesResult | None = None
    skipped: dict[str, str] = Field(default_factory=dict)  # kind → why it is absent
    entity_review: EntityReviewDecision | None = None  # set when entity review is on and entities came


@dataclass
class Analyzer:
    pointers: Pointers
    comprehend: Any
    reviewer: EntityReviewer | None = None  # entity review (None: off)

    def _active(self, kind: ModelKind, fresh: bool) -> Active | None:
        active = self.pointers.read(kind, fresh=fresh)
        return active if active.endpoint_arn else None

    def analyze(self, request: AnalyzeRequest) -> AnalyzeResult:
        size = len(request.text.encode("utf-8"))
        if size > MAX_CLASSIFY_BYTES:
            raise TextTooLarge(f"text is {size} bytes of UTF-8; at most {MAX_CLASSIFY_BYTES} are accepted")
        result = AnalyzeResult(text_bytes=size)
        entities = self._call(ModelKind.ENTITY_RECOGNIZER, request.text, size, result)
        classes = self._call(ModelKind.CLASSIFIER, request.text, size, result)
        result.entities = entities if isinstance(entities, EntitiesResult) else None
        result.classes = classes if isinstance(classes, ClassesResult) else None
        if result.entities is not None and self.reviewer is not None:
            result.entity_review = self._review(request.text, result.entities)
        too_large = "limit" in result.skipped.get(ModelKind.ENTITY_RECOGNIZER.value, "")
        if result.entities is None and result.classes is None and too_large:
            raise TextTooLarge(
                f"text is {size} bytes of UTF-8; entity detection accepts at most {MAX_ENTITY_BYTES} "
                "and no classifier is active"
            )
        return result

    def _review(self, text: str, found: EntitiesResult) -> EntityReviewDecision | None:
        assert self.reviewer is not None
        entities = [e.model_dump() for e in found.entities]
        try:
            return self.reviewer.decide(
                text, entities, model_arn=found.model_arn, model_version=found.model_version
            )
        except WorkflowError as error:  # the gate's table or the model's description failed: no review
            logger.error("entity review skipped", extra={"error": type(error).__name__})
            return None

    def _call(
        self, kind: ModelKind, text: str, size: int, result: AnalyzeResult
    ) -> EntitiesResult | ClassesResult | None:
        active = self._active(kind, fresh=False)
        if active is None:
            result.skipped[kind.value] = "no active model"
            return None
        limit = spec(kind).max_text_bytes
        if size > limit:
            result.skipped[kind.value] = (
                f"text size {size} bytes exceeds the {limit}-byte limit of {spec(kind).noun}"
            )
            return None
        try:
            return self._invoke(kind, text, active)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code not in {"ResourceNotFoundException", "ResourceUnavailableException"}:
                raise _translate(error) from error
        except BotoCoreError as error:  # connection, timeout: no answer from Comprehend
            raise ServiceUnavailable(f"Comprehend unreachable: {type(error).__name__}") from error
        fresh = self._active(kind, fresh=True)  # a promotion replaced the endpoint under our cache
        if fresh is None:
            result.skipped[kind.value] = "no active model"
            return None
        try:
            return self._invoke(kind, text, fresh)
        except ClientError as error:
            raise _translate(error) from error
        except BotoCoreError as error:
            raise ServiceUnavailable(f"Comprehend unreachable: {type(error).__name__}") from error

    def _invoke(self, kind: ModelKind, text: str, active: Active) -> EntitiesResult | ClassesResult:
        endpoint = str(active.endpoint_arn)
        ref = {"endpoint_arn": endpoint, "model_arn": active.model_arn, "model_version": active.version}
        if kind is ModelKind.ENTITY_RECOGNIZER:
            response = self.comprehend.detect_entities(Text=text, EndpointArn=endpoint)
            entities = [
                Entity(
                    Text=e.get("Text", text[e["BeginOffset"] : e["EndOffset"]]),
                    Type=e["Type"],
                    BeginOffset=e["BeginOffset"],
                    EndOffset=e["EndOffset"],
                    Score=float(e.get("Score", 0.0)),
                )
                for e in response.get("Entities", [])
            ]
            return EntitiesResult(**ref, entities=entities)
        response = self.comprehend.classify_document(Text=text, EndpointArn=endpoint)
        multi_label = "Labels" in response and "Classes" not in response
        scores = response.get("Labels" if multi_label else "Classes", [])
        classes = [ClassScore(Name=str(c["Name"]), Score=float(c["Score"])) for c in scores]
        return ClassesResult(**ref, multi_label=multi_label, classes=classes)


def _translate(error: ClientError) -> WorkflowError:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", str(error))
    if code == "TextSizeLimitExceededException":
        return TextTooLarge(message)
    if code in {"TooManyRequestsException", "ThrottlingException"}:
        return ComprehendThrottled(f"Comprehend throttled the request: {message}")
    return ServiceUnavailable(f"Comprehend {code or 'error'}: {message}")  # 503: the caller may retry


# --- the analysis results table -------------------------------------------------------------------------
@dataclass
class ResultRecorder:
    """Stores an analysis (best effort): ``record`` returns the result with its ``analysis_id`` when the
    item was written, and the result unchanged when storage is off or the write failed."""

    settings: AnalysisSettings
    results: AnalysisResults | None  # None when storage is off
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    new_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))

    def item(self, analysis_id: str, request: AnalyzeRequest, result: AnalyzeResult) -> dict[str, Any]:
        """The stored item: no document text (request or entity span) unless ``store_text``."""
        now = self.clock()
        item: dict[str, Any] = {
            "analysis_id": analysis_id,
            "created_at": now.isoformat(),
            "expires_at": int((now + timedelta(days=self.settings.retention_days)).timestamp()),
            "text_bytes": result.text_bytes,
            "skipped": result.skipped,
        }
        if result.entities is not None:
            keep = {"Type", "BeginOffset", "EndOffset", "Score"} | (
                {"Text"} if self.settings.store_text else set()
            )
            item["entities"] = {
                **result.entities.model_dump(mode="json", exclude={"entities"}),
                "entities": [e.model_dump(mode="json", include=keep) for e in result.entities.entities],
            }
        if result.classes is not None:
            item["classes"] = result.classes.model_dump(mode="json")
        if result.entity_review is not None:
            item["entity_review"] = result.entity_review.model_dump(mode="json")
        if self.settings.store_text:
            item["text"] = request.text
        return item

    def record(self, request: AnalyzeRequest, result: AnalyzeResult) -> AnalyzeResult:
        if not self.settings.store_results or self.results is None:
            return result
        analysis_id = self.new_id()
        try:
            self.results.put(self.item(analysis_id, request, result))
        except Exception as error:  # best effort: a lost record must not cost the caller the answer
            logger.warning(
                "analysis result not stored",
                extra={"analysis_id": analysis_id, "error": type(error).__name__, "detail": str(error)},
            )
            return result
        return result.model_copy(update={"analysis_id": analysis_id})


def analyze_and_record(
    request: AnalyzeRequest, analyzer: Analyzer, recorder: ResultRecorder
) -> AnalyzeResult:
    """Analyze with the active endpoints, then store the result when configured (never failing for it)."""
    result = recorder.record(request, analyzer.analyze(request))
    logger.info(
        "analyzed",
        extra={
            "analysis_id": result.analysis_id,
            "text_bytes": result.text_bytes,
            "entities": len(result.entities.entities) if result.entities else None,
            "classes": len(result.classes.classes) if result.classes else None,
            "entity_review": result.entity_review.reason if result.entity_review else None,
        },
    )
    return result
