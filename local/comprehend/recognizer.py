"""Custom entity recognizers: training, entity-detection jobs and DetectEntities.

Operations: CreateEntityRecognizer, DescribeEntityRecognizer, ListEntityRecognizers,
StopTrainingEntityRecognizer, DeleteEntityRecognizer, StartEntitiesDetectionJob,
DescribeEntitiesDetectionJob, ListEntitiesDetectionJobs, DetectEntities. Endpoints come from
:mod:`local.comprehend.endpoints` through the ``entity-recognizer`` model kind registered here
(endpoint ARNs ``…:entity-recognizer-endpoint/<name>``).

Training (a background thread): SUBMITTED → TRAINING → TRAINED | IN_ERROR | STOPPED. It reads the
``COMPREHEND_CSV`` data (documents one per line + annotations ``File,Line,Begin Offset,End Offset,Type``),
checks what Comprehend checks (every listed entity type has ≥ 3 documents and ≥ 25 annotations, ≤ 25
types, documents ≤ 5,000 bytes, offsets inside their line, no overlapping spans), trains the CRF of
:mod:`local.comprehend.engines.entities` and evaluates it on ``TestS3Uri`` (else on ~10 % of the training
documents, held out). ``RecognizerMetadata.EvaluationMetrics`` are entity-level exact-match figures on a
0-100 scale, as Comprehend reports them for plain-text recognizers (per type as well). Annotations of a
type that is not in ``EntityTypes`` are ignored.

Jobs (a background thread): SUBMITTED → IN_PROGRESS → COMPLETED | FAILED, writing
``<OutputDataConfig.S3Uri>/<account>-NER-<job id>/output/output.tar.gz`` whose one member ``output`` holds
a JSON line per document: ``{"File", "Line", "Entities": [{"BeginOffset", "EndOffset", "Score", "Text",
"Type"}]}`` (``Line`` only with ONE_DOC_PER_LINE; empty lines are skipped).

DetectEntities on a custom endpoint accepts at most 5,000 bytes of UTF-8 (TextSizeLimitExceededException).
botocore's ``Entity.Type`` enum lists only the built-in types; custom endpoints return the custom type
names, as Comprehend does (botocore does not check response enums).
"""

from __future__ import annotations

import json
import posixpath
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

from comprehend_al.datasets.entities import Annotation, EntityLimits, EntityUpload, validate_upload
from comprehend_al.entity_metrics import evaluate_entities
from comprehend_al.errors import InvalidTrainingData

from local.comprehend.common import check_text, reject_bytes, require
from local.comprehend.context import ServiceContext
from local.comprehend.endpoints import endpoint_model
from local.comprehend.engines.entities import EntityModel, train
from local.comprehend.errors import (
    InvalidRequestException,
    ResourceNotFoundException,
)
from local.comprehend.models import JobSpec, ModelSpec, TrainingDataError, job_documents, read_training_data
from local.comprehend.registry import Request, Response, operation
from local.comprehend.s3io import S3ReadError, list_objects, parse_s3_uri
from local.comprehend.store import Record

LIMITS = EntityLimits()
MAX_ENDPOINT_TEXT_BYTES = 5_000
TEST_FRACTION = 0.1
MAX_ENTITY_TYPES = 25


# --- training data ------------------------------------------------------------------------------------
def load_dataset(
    documents: bytes, annotations: bytes, *, documents_uri: str, annotations_uri: str
) -> EntityUpload:
    """Parse documents + annotations; TrainingDataError with a Comprehend-like message on bad data."""
    try:
        return validate_upload(
            documents,
            annotations,
            documents_file=documents_uri,
            annotations_file=annotations_uri,
            limits=LIMITS,
        )
    except InvalidTrainingData as exc:
        shown = "; ".join(str(p) for p in exc.problems[:10])
        more = f" (and {len(exc.problems) - 10} more)" if len(exc.problems) > 10 else ""
        raise TrainingDataError(
            f"INPUT_DATA_INVALID: the annotations or documents are not valid: {shown}{more}"
        ) from exc


def read_dataset(ctx: ServiceContext, documents_uri: str, annotations_uri: str) -> EntityUpload:
    """Documents + annotations as Comprehend reads them: each URI names one object or a prefix (every
    object under it); with several documents files, an annotation's ``File`` names the one it belongs to."""
    annotations = read_training_data(ctx, annotations_uri)
    bucket, _ = parse_s3_uri(documents_uri)
    try:
        keys = list_objects(ctx.s3, documents_uri)
    except S3ReadError as exc:
        raise TrainingDataError(f"Unable to access the training data: {exc}") from exc
    if len(keys) <= 1:
        return load_dataset(
            read_training_data(ctx, documents_uri),
            annotations,
            documents_uri=documents_uri,
            annotations_uri=annotations_uri,
        )
    lines = annotations.decode("utf-8-sig", errors="replace").splitlines()
    header = lines[0] if lines else ""
    rows = [line for line in lines[1:] if line.strip() and line != header]
    documents: list[str] = []
    spans: list[Annotation] = []
    for key in keys:
        name = posixpath.basename(key)
        mine = [line for line in rows if line.split(",", 1)[0].strip().strip('"') in (name, key)]
        part = load_dataset(
            read_training_data(ctx, f"s3://{bucket}/{key}"),
            "\n".join([header, *mine, ""]).encode(),
            documents_uri=f"s3://{bucket}/{key}",
            annotations_uri=annotations_uri,
        )
        spans.extend(a._replace(doc_index=a.doc_index + len(documents)) for a in part.annotations)
        documents.extend(part.documents)
    return EntityUpload(documents, spans)


def _keep_types(dataset: EntityUpload, types: set[str]) -> EntityUpload:
    return EntityUpload(dataset.documents, [a for a in dataset.annotations if a.type in types])


def _check_minimums(dataset: EntityUpload, types: list[str]) -> None:
    annotations = dataset.type_counts()
    documents = dataset.type_document_counts()
    short = []
    for type_ in types:
        n_ann, n_docs = annotations.get(type_, 0), documents.get(type_, 0)
        if n_ann < LIMITS.min_annotations_per_type or n_docs < LIMITS.min_documents_per_type:
            short.append(f"{type_} ({n_ann} annotations in {n_docs} documents)")
    if short:
        raise TrainingDataError(
            f"Each entity type must have at least {LIMITS.min_annotations_per_type} annotations in at least "
            f"{LIMITS.min_documents_per_type} documents. Entity types below the minimum: {', '.join(short)}"
        )


def _hold_out(dataset: EntityUpload, seed: str) -> tuple[EntityUpload, EntityUpload]:
    """~10 % of the documents (at least one) as the test set, the rest for training."""
    indices = list(range(len(dataset.documents)))
    random.Random(seed).shuffle(indices)
    held = set(indices[: max(1, round(len(indices) * TEST_FRACTION))]) if len(indices) > 1 else set()
    return _subset(dataset, [i for i in range(len(indices)) if i not in held]), _subset(dataset, sorted(held))


def _subset(dataset: EntityUpload, keep: list[int]) -> EntityUpload:
    position = {old: new for new, old in enumerate(keep)}
    return EntityUpload(
        [dataset.documents[i] for i in keep],
        [
            Annotation(position[a.doc_index], a.begin, a.end, a.type)
            for a in dataset.annotations
            if a.doc_index in position
        ],
    )


def _percent(value: float) -> float:
    return round(100.0 * value, 4)


def _metadata(
    model: EntityModel, train_set: EntityUpload, test_set: EntityUpload, types: list[str]
) -> dict[str, Any]:
    predicted = [
        Annotation(i, e["BeginOffset"], e["EndOffset"], e["Type"])
        for i, text in enumerate(test_set.documents)
        for e in model.predict(text)
    ]
    metrics = evaluate_entities(test_set.annotations, predicted, documents=len(test_set.documents))
    mentions = Counter(a.type for a in train_set.annotations)
    per_type = []
    for type_ in types:
        m = metrics.per_type.get(type_)
        scores = (m.Precision, m.Recall, m.F1Score) if m else (0.0, 0.0, 0.0)
        per_type.append(
            {
                "Type": type_,
                "EvaluationMetrics": dict(
                    zip(("Precision", "Recall", "F1Score"), map(_percent, scores), strict=True)
                ),
                "NumberOfTrainMentions": mentions.get(type_, 0),
            }
        )
    return {
        "NumberOfTrainedDocuments": len(train_set.documents),
        "NumberOfTestDocuments": len(test_set.documents),
        "EvaluationMetrics": {
            "Precision": _percent(metrics.Precision),
            "Recall": _percent(metrics.Recall),
            "F1Score": _percent(metrics.F1Score),
        },
        "EntityTypes": per_type,
    }


# --- training -----------------------------------------------------------------------------------------
def _train_and_evaluate(
    ctx: ServiceContext, record: Record, stop_requested: Callable[[], bool]
) -> dict[str, Any]:
    config = record["InputDataConfig"]
    types = sorted({t["Type"] for t in config["EntityTypes"]})
    documents, annotations = config["Documents"], config["Annotations"]

    def load(documents_uri: str, annotations_uri: str) -> EntityUpload:
        return _keep_types(read_dataset(ctx, documents_uri, annotations_uri), set(types))

    train_set = load(documents["S3Uri"], annotations["S3Uri"])
    if documents.get("TestS3Uri"):
        test_set = load(documents["TestS3Uri"], annotations["TestS3Uri"])
    else:
        train_set, test_set = _hold_out(train_set, seed=record["_id"])
    _check_minimums(train_set, types)
    if stop_requested():
        return {}
    model = train(train_set.documents, train_set.annotations)
    model_path = ctx.store.model_dir(SPEC.resource_type, record["_id"]) / "model.crfsuite"
    model.save(model_path)
    return {
        "RecognizerMetadata": _metadata(model, train_set, test_set, types),
        "_model_path": str(model_path.relative_to(ctx.store.root)),
    }


# --- recognizer operations ----------------------------------------------------------------------------
def _check_input_config(request: Request) -> dict[str, Any]:
    config = dict(require(request, "InputDataConfig", dict))
    data_format = config.setdefault("DataFormat", "COMPREHEND_CSV")
    if data_format != "COMPREHEND_CSV":
        raise InvalidRequestException(f"DataFormat {data_format} is not supported by the local service")
    if config.get("EntityList") or config.get("AugmentedManifests"):
        raise InvalidRequestException(
            "Only annotations are supported by the local service (not EntityList or AugmentedManifests)"
        )
    types = require(config, "EntityTypes", list)
    names = [t.get("Type") if isinstance(t, dict) else None for t in types]
    if not names or len(names) > MAX_ENTITY_TYPES:
        raise InvalidRequestException(f"EntityTypes must list between 1 and {MAX_ENTITY_TYPES} entity types")
    for name in names:
        if not isinstance(name, str) or not name or any(c in name for c in ",\n\r\t") or name != name.upper():
            raise InvalidRequestException(
                f"Invalid entity type {name!r}: use upper case, no commas or line breaks"
            )
    if len(set(names)) != len(names):
        raise InvalidRequestException("EntityTypes lists an entity type more than once")
    documents = dict(require(config, "Documents", dict))
    annotations = dict(require(config, "Annotations", dict))
    parse_s3_uri(require(documents, "S3Uri"))
    parse_s3_uri(require(annotations, "S3Uri"))
    if bool(documents.get("TestS3Uri")) != bool(annotations.get("TestS3Uri")):
        raise InvalidRequestException("Documents.TestS3Uri and Annotations.TestS3Uri must be given together")
    for uri in (documents.get("TestS3Uri"), annotations.get("TestS3Uri")):
        if uri:
            parse_s3_uri(uri)
    documents.setdefault("InputFormat", "ONE_DOC_PER_LINE")
    if documents["InputFormat"] != "ONE_DOC_PER_LINE":
        raise InvalidRequestException(
            "Documents.InputFormat ONE_DOC_PER_FILE is not supported by the local service"
        )
    config["Documents"], config["Annotations"] = documents, annotations
    return config


@operation("CreateEntityRecognizer")
def create_entity_recognizer(ctx: ServiceContext, request: Request) -> Response:
    name, version = SPEC.check_create(request)
    return SPEC.create(ctx, request, name, version, _check_input_config(request))


# --- entity-detection jobs ----------------------------------------------------------------------------
def _job_fields(request: Request, recognizer: Record) -> dict[str, Any]:
    language = require(request, "LanguageCode")
    if language != recognizer["LanguageCode"]:
        raise InvalidRequestException(
            f"LanguageCode {language} does not match the recognizer's language {recognizer['LanguageCode']}"
        )
    return {"LanguageCode": language}


def _detect_input(ctx: ServiceContext, job: Record, model: EntityModel) -> list[str]:
    out: list[str] = []
    for name, documents in job_documents(ctx, job):
        for line, text in documents:
            where = {"File": name} if line is None else {"File": name, "Line": line}
            out.append(json.dumps({**where, "Entities": model.predict(text)}))
    return out


# --- real time ----------------------------------------------------------------------------------------
@operation("DetectEntities")
def detect_entities(ctx: ServiceContext, request: Request) -> Response:
    reject_bytes(request)
    endpoint_arn = request.get("EndpointArn")
    if not endpoint_arn:
        raise InvalidRequestException(
            "EndpointArn is required: the local service has no built-in entity types"
        )
    text = check_text(request, MAX_ENDPOINT_TEXT_BYTES)
    model: EntityModel = endpoint_model(ctx, endpoint_arn, SPEC.resource_type)
    return {"Entities": model.predict(text)}


# --- the kind -----------------------------------------------------------------------------------------
SPEC = ModelSpec(
    operation_noun="EntityRecognizer",
    noun="recognizer",
    title="Entity recognizer",
    name_field="RecognizerName",
    load=EntityModel.load,
    train=_train_and_evaluate,
    job=JobSpec(
        operation_noun="EntitiesDetectionJob",
        output_code="NER",
        output_member="output",
        missing_model=(
            "EntityRecognizerArn is required: the local service has no built-in entity types (nor flywheels)"
        ),
        predict=_detect_input,
        not_found=ResourceNotFoundException,  # Comprehend: JobNotFoundException
        extra_fields=_job_fields,
    ),
).register()
