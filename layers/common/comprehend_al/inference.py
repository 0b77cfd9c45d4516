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
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import boto3
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from comprehend_al.errors import InvalidRequest, WorkflowError
from comprehend_al.models import ModelKind
from comprehend_al.registry import version_of_arn

MAX_ENTITY_BYTES = 5_000
MAX_CLASSIFY_BYTES = 10_000
PARAMETER_MAX_AGE = 60
ACTIVE_MODEL = "active-model-arn"
ACTIVE_ENDPOINT = "active-endpoint-arn"


class TextTooLarge(InvalidRequest):
    """The text exceeds what every active model accepts (HTTP 413)."""


class InferenceUnavailable(WorkflowError):
    """Comprehend could not answer (throttled, endpoint not ready, service error): HTTP 503 / 429."""

    def __init__(self, message: str, *, throttled: bool = False) -> None:
        super().__init__(message)
        self.throttled = throttled


class AnalyzeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    text: str


class Entity(BaseModel):
    text: str
    type: str
    begin_offset: int
    end_offset: int
    score: float


class ClassScore(BaseModel):
    name: str
    score: float


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
    text_bytes: int
    entities: EntitiesResult | None = None
    classes: ClassesResult | None = None
    skipped: dict[str, str] = Field(default_factory=dict)  # kind → why it is absent


def parse_request(body: str | bytes | None) -> AnalyzeRequest:
    """The request body → a validated request; InvalidRequest (400) naming the problem."""
    import json

    if body is None or (isinstance(body, str | bytes) and not body.strip()):
        raise InvalidRequest('the body must be a JSON object: {"text": "..."}')
    try:
        raw = body.decode("utf-8") if isinstance(body, bytes) else body
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidRequest(f"the body is not valid UTF-8 JSON: {error}") from error
    if not isinstance(data, dict):
        raise InvalidRequest('the body must be a JSON object: {"text": "..."}')
    text = data.get("text")
    if not isinstance(text, str):
        raise InvalidRequest('"text" is required and must be a string')
    unknown = sorted(set(data) - {"text"})
    if unknown:
        raise InvalidRequest(f"unknown field(s): {', '.join(unknown)}")
    if not text.strip():
        raise InvalidRequest('"text" must not be empty')
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidRequest(f'"text" is not valid Unicode (unpaired surrogate at {error.start})') from error
    return AnalyzeRequest(text=text)


ParameterReader = Callable[[str, bool], str | None]
"""(name, force_fetch) → value, or None when the parameter does not exist."""


def powertools_parameter(name: str, force_fetch: bool = False) -> str | None:
    from aws_lambda_powertools.utilities import parameters

    try:
        value = parameters.get_parameter(name, max_age=PARAMETER_MAX_AGE, force_fetch=force_fetch)
    except parameters.exceptions.GetParameterError:
        return None
    value = str(value).strip()
    return None if value.lower() in {"", "none"} else value


@dataclass
class Analyzer:
    parameter_prefix: str
    comprehend: Any
    read_parameter: ParameterReader = powertools_parameter

    def _name(self, kind: ModelKind, name: str) -> str:
        return f"{self.parameter_prefix.rstrip('/')}/{kind.value}/{name}"

    def _active(self, kind: ModelKind, fresh: bool) -> tuple[str, str | None] | None:
        endpoint = self.read_parameter(self._name(kind, ACTIVE_ENDPOINT), fresh)
        if not endpoint:
            return None
        return endpoint, self.read_parameter(self._name(kind, ACTIVE_MODEL), fresh)

    def analyze(self, request: AnalyzeRequest) -> AnalyzeResult:
        size = len(request.text.encode("utf-8"))
        if size > MAX_CLASSIFY_BYTES:
            raise TextTooLarge(f"text is {size} bytes of UTF-8; at most {MAX_CLASSIFY_BYTES} are accepted")
        result = AnalyzeResult(text_bytes=size)
        entities = self._call(ModelKind.ENTITY_RECOGNIZER, request.text, size, result)
        classes = self._call(ModelKind.CLASSIFIER, request.text, size, result)
        result.entities = entities if isinstance(entities, EntitiesResult) else None
        result.classes = classes if isinstance(classes, ClassesResult) else None
        too_large = "limit" in result.skipped.get(ModelKind.ENTITY_RECOGNIZER.value, "")
        if result.entities is None and result.classes is None and too_large:
            raise TextTooLarge(
                f"text is {size} bytes of UTF-8; entity detection accepts at most {MAX_ENTITY_BYTES} "
                "and no classifier is active"
            )
        return result

    def _call(
        self, kind: ModelKind, text: str, size: int, result: AnalyzeResult
    ) -> EntitiesResult | ClassesResult | None:
        active = self._active(kind, fresh=False)
        if active is None:
            result.skipped[kind.value] = "no active model"
            return None
        if kind is ModelKind.ENTITY_RECOGNIZER and size > MAX_ENTITY_BYTES:
            result.skipped[kind.value] = (
                f"text size {size} bytes exceeds the {MAX_ENTITY_BYTES}-byte limit of entity detection"
            )
            return None
        try:
            return self._invoke(kind, text, *active)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code not in {"ResourceNotFoundException", "ResourceUnavailableException"}:
                raise _translate(error) from error
        fresh = self._active(kind, fresh=True)  # a promotion replaced the endpoint under our cache
        if fresh is None:
            result.skipped[kind.value] = "no active model"
            return None
        try:
            return self._invoke(kind, text, *fresh)
        except ClientError as error:
            raise _translate(error) from error

    def _invoke(
        self, kind: ModelKind, text: str, endpoint: str, model_arn: str | None
    ) -> EntitiesResult | ClassesResult:
        ref = {"endpoint_arn": endpoint, "model_arn": model_arn, "model_version": _version(model_arn)}
        if kind is ModelKind.ENTITY_RECOGNIZER:
            response = self.comprehend.detect_entities(Text=text, EndpointArn=endpoint)
            entities = [
                Entity(
                    text=e.get("Text", text[e["BeginOffset"] : e["EndOffset"]]),
                    type=e["Type"],
                    begin_offset=e["BeginOffset"],
                    end_offset=e["EndOffset"],
                    score=float(e.get("Score", 0.0)),
                )
                for e in response.get("Entities", [])
            ]
            return EntitiesResult(**ref, entities=entities)
        response = self.comprehend.classify_document(Text=text, EndpointArn=endpoint)
        multi_label = "Labels" in response and "Classes" not in response
        scores = response.get("Labels" if multi_label else "Classes", [])
        classes = [ClassScore(name=c["Name"], score=float(c["Score"])) for c in scores]
        return ClassesResult(**ref, multi_label=multi_label, classes=classes)


def _version(model_arn: str | None) -> str | None:
    if not model_arn:
        return None
    try:
        return version_of_arn(model_arn)
    except WorkflowError:
        return None


def _translate(error: ClientError) -> WorkflowError:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", str(error))
    if code == "TextSizeLimitExceededException":
        return TextTooLarge(message)
    if code in {"TooManyRequestsException", "ThrottlingException"}:
        return InferenceUnavailable(f"Comprehend throttled the request: {message}", throttled=True)
    return InferenceUnavailable(f"Comprehend {code or 'error'}: {message}")


@lru_cache(maxsize=1)
def default_analyzer() -> Analyzer:
    """The analyzer of this Lambda process (its clients are built once per cold start)."""
    return Analyzer(parameter_prefix=os.environ["PARAMETER_PREFIX"], comprehend=boto3.client("comprehend"))
