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
import random
import shutil
from collections import Counter
from typing import TYPE_CHECKING, Any

from comprehend_al.datasets.entities import Annotation, EntityLimits, EntityUpload, validate_upload
from comprehend_al.entity_metrics import evaluate_entities
from comprehend_al.errors import InvalidTrainingData

from local.comprehend.common import check_name, new_id, now, paginate, parse_arn, require, time_filter
from local.comprehend.endpoints import KIND as ENDPOINTS
from local.comprehend.endpoints import endpoint_model, endpoints_using
from local.comprehend.engines.entities import EntityModel, train
from local.comprehend.errors import (
    InvalidRequestException,
    ResourceInUseException,
    ResourceNotFoundException,
    ResourceUnavailableException,
    TextSizeLimitExceededException,
)
from local.comprehend.registry import ModelKind, Request, Response, on_restart, operation, register_model_kind
from local.comprehend.s3io import S3ReadError, join_uri, list_objects, parse_s3_uri, read_object, write_tar_gz
from local.comprehend.store import Record, public

if TYPE_CHECKING:
    from local.comprehend.server import ServiceContext

RESOURCE_TYPE = "entity-recognizer"
ENDPOINT_RESOURCE_TYPE = "entity-recognizer-endpoint"
JOB_RESOURCE_TYPE = "entities-detection-job"
RECOGNIZERS = "entity-recognizers"
JOBS = "entities-detection-jobs"
TRAINED_STATUSES = ("TRAINED", "TRAINED_WITH_WARNING")
IN_TRAINING = ("SUBMITTED", "TRAINING", "STOP_REQUESTED")
LIMITS = EntityLimits()
MAX_ENDPOINT_TEXT_BYTES = 5_000
TEST_FRACTION = 0.1
MAX_ENTITY_TYPES = 25


class TrainingDataError(Exception):
    """The training or test data cannot be used; the message becomes the recognizer's ``Message``."""


# --- the model kind that endpoints serve --------------------------------------------------------------
def _get_recognizer(ctx: ServiceContext, arn: str) -> Record:
    parts = parse_arn(arn)
    record = ctx.store.get(RECOGNIZERS, arn) if parts["type"] == RESOURCE_TYPE else None
    if record is None:
        raise ResourceNotFoundException(f"Could not find specified resource: {arn}")
    return record


def _model_status(ctx: ServiceContext, arn: str) -> str:
    return str(_get_recognizer(ctx, arn)["Status"])


def _load_model(ctx: ServiceContext, arn: str) -> EntityModel:
    record = _get_recognizer(ctx, arn)
    if record["Status"] not in TRAINED_STATUSES or not record.get("_model_path"):
        raise ResourceUnavailableException(f"Entity recognizer {arn} has no trained model")
    return EntityModel.load(ctx.store.root / record["_model_path"])


register_model_kind(ModelKind(RESOURCE_TYPE, ENDPOINT_RESOURCE_TYPE, _model_status, _load_model))


# --- training data ------------------------------------------------------------------------------------
def _read(ctx: ServiceContext, uri: str) -> bytes:
    try:
        return read_object(ctx.s3, uri)
    except S3ReadError as exc:
        raise TrainingDataError(f"Unable to access the training data: {exc}") from exc


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
def _set_status(ctx: ServiceContext, arn: str, status: str, **fields: Any) -> None:
    def change(record: Record) -> None:
        if record["Status"] == "STOP_REQUESTED" and status in ("TRAINED", "TRAINED_WITH_WARNING", "TRAINING"):
            return  # a stop request wins over progress; the worker notices it at its next step
        record["Status"] = status
        record.update(fields)

    ctx.store.update(RECOGNIZERS, arn, change)


def _stop_requested(ctx: ServiceContext, arn: str) -> bool:
    record = ctx.store.get(RECOGNIZERS, arn)
    return record is None or record["Status"] == "STOP_REQUESTED"


def _mark_stopped(ctx: ServiceContext, arn: str) -> None:
    ctx.store.update(
        RECOGNIZERS,
        arn,
        {"Status": "STOPPED", "Message": "Training was stopped by request", "EndTime": now()},
    )


def _run_training(ctx: ServiceContext, arn: str) -> None:
    if _stop_requested(ctx, arn):
        _mark_stopped(ctx, arn)
        return
    if not ctx.pause():
        return
    _set_status(ctx, arn, "TRAINING", TrainingStartTime=now())
    try:
        outcome = _train_and_evaluate(ctx, arn)
    except TrainingDataError as exc:
        _set_status(ctx, arn, "IN_ERROR", Message=str(exc), EndTime=now(), TrainingEndTime=now())
        return
    except Exception as exc:  # anything else is the service's fault, reported like Comprehend would
        _set_status(ctx, arn, "IN_ERROR", Message=f"Internal error during training: {exc}", EndTime=now())
        raise
    if _stop_requested(ctx, arn):
        _mark_stopped(ctx, arn)
        return
    if not ctx.pause():
        return
    timestamp = now()
    _set_status(ctx, arn, "TRAINED", EndTime=timestamp, TrainingEndTime=timestamp, **outcome)


def _train_and_evaluate(ctx: ServiceContext, arn: str) -> dict[str, Any]:
    record = _get_recognizer(ctx, arn)
    failure = ctx.faults.take_training_failure()
    if failure is not None:
        raise TrainingDataError(failure)
    config = record["InputDataConfig"]
    types = sorted({t["Type"] for t in config["EntityTypes"]})
    documents, annotations = config["Documents"], config["Annotations"]

    def load(documents_uri: str, annotations_uri: str) -> EntityUpload:
        dataset = load_dataset(
            _read(ctx, documents_uri),
            _read(ctx, annotations_uri),
            documents_uri=documents_uri,
            annotations_uri=annotations_uri,
        )
        return _keep_types(dataset, set(types))

    train_set = load(documents["S3Uri"], annotations["S3Uri"])
    if documents.get("TestS3Uri"):
        test_set = load(documents["TestS3Uri"], annotations["TestS3Uri"])
    else:
        train_set, test_set = _hold_out(train_set, seed=record["_id"])
    _check_minimums(train_set, types)
    if _stop_requested(ctx, arn):
        return {}
    model = train(train_set.documents, train_set.annotations)
    model_path = ctx.store.model_dir(RESOURCE_TYPE, record["_id"]) / "model.crfsuite"
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
    name = check_name(require(request, "RecognizerName"), "recognizerName")
    version = request.get("VersionName")
    if version is not None:
        check_name(version, "versionName")
    require(request, "DataAccessRoleArn")
    require(request, "LanguageCode")
    config = _check_input_config(request)
    arn = ctx.arn(RESOURCE_TYPE, name, version)
    token = request.get("ClientRequestToken")
    with ctx.store.lock:
        existing = ctx.store.get(RECOGNIZERS, arn)
        if existing is not None:
            if token and existing.get("_token") == token:
                return {"EntityRecognizerArn": arn}
            what = f"version {version} of " if version else ""
            raise ResourceInUseException(f"A {what}recognizer named {name} already exists: {arn}")
        ctx.store.put(
            RECOGNIZERS,
            arn,
            {
                "EntityRecognizerArn": arn,
                "LanguageCode": request["LanguageCode"],
                "Status": "SUBMITTED",
                "SubmitTime": now(),
                "InputDataConfig": config,
                "DataAccessRoleArn": request["DataAccessRoleArn"],
                "VolumeKmsKeyId": request.get("VolumeKmsKeyId"),
                "VpcConfig": request.get("VpcConfig"),
                "ModelKmsKeyId": request.get("ModelKmsKeyId"),
                "VersionName": version,
                "_id": new_id(),
                "_name": name,
                "_token": token,
                "_tags": request.get("Tags", []),
            },
        )
    ctx.submit(lambda: _run_training(ctx, arn), training=True)
    return {"EntityRecognizerArn": arn}


@operation("DescribeEntityRecognizer")
def describe_entity_recognizer(ctx: ServiceContext, request: Request) -> Response:
    record = _get_recognizer(ctx, require(request, "EntityRecognizerArn"))
    return {"EntityRecognizerProperties": public(record)}


@operation("ListEntityRecognizers")
def list_entity_recognizers(ctx: ServiceContext, request: Request) -> Response:
    flt = request.get("Filter") or {}
    records = sorted(ctx.store.list(RECOGNIZERS), key=lambda r: (r["SubmitTime"], r["EntityRecognizerArn"]))
    selected = [
        public(r)
        for r in records
        if (not flt.get("Status") or r["Status"] == flt["Status"])
        and (not flt.get("RecognizerName") or r["_name"] == flt["RecognizerName"])
        and time_filter(r["SubmitTime"], flt.get("SubmitTimeBefore"), flt.get("SubmitTimeAfter"))
    ]
    page, token = paginate(selected, request)
    response: Response = {"EntityRecognizerPropertiesList": page}
    if token:
        response["NextToken"] = token
    return response


@operation("StopTrainingEntityRecognizer")
def stop_training_entity_recognizer(ctx: ServiceContext, request: Request) -> Response:
    arn = require(request, "EntityRecognizerArn")
    with ctx.store.lock:
        record = _get_recognizer(ctx, arn)
        if record["Status"] in ("SUBMITTED", "TRAINING"):
            ctx.store.update(RECOGNIZERS, arn, {"Status": "STOP_REQUESTED"})
    return {}


def _remove_recognizer(ctx: ServiceContext, arn: str, ident: str) -> None:
    ctx.pause()
    ctx.forget_model(arn)
    shutil.rmtree(ctx.store.model_dir(RESOURCE_TYPE, ident), ignore_errors=True)
    ctx.store.delete(RECOGNIZERS, arn)


@operation("DeleteEntityRecognizer")
def delete_entity_recognizer(ctx: ServiceContext, request: Request) -> Response:
    arn = require(request, "EntityRecognizerArn")
    with ctx.store.lock:
        record = _get_recognizer(ctx, arn)
        if record["Status"] in IN_TRAINING:
            raise ResourceInUseException(
                f"Entity recognizer {arn} is being trained ({record['Status']}); stop it first"
            )
        users = endpoints_using(ctx, arn)
        if users:
            raise ResourceInUseException(
                f"Entity recognizer {arn} is used by endpoint(s): {', '.join(users)}"
            )
        if record["Status"] == "DELETING":
            return {}
        ctx.store.update(RECOGNIZERS, arn, {"Status": "DELETING"})
    ctx.submit(lambda: _remove_recognizer(ctx, arn, record["_id"]))
    return {}


# --- entity-detection jobs ----------------------------------------------------------------------------
def _job_recognizer_arn(ctx: ServiceContext, arn: str) -> str:
    """The recognizer ARN of a job: given directly, or through an endpoint's current model."""
    kind = parse_arn(arn)["type"]
    if kind == ENDPOINT_RESOURCE_TYPE:
        endpoint = ctx.store.get(ENDPOINTS, arn)
        if endpoint is None:
            raise ResourceNotFoundException(f"Endpoint not found: {arn}")
        return str(endpoint["ModelArn"])
    if kind != RESOURCE_TYPE:
        raise InvalidRequestException(f"{arn} is not an entity recognizer ARN")
    return arn


JOB_SUMMARY = ("JobId", "JobArn", "JobStatus", "EntityRecognizerArn")


@operation("StartEntitiesDetectionJob")
def start_entities_detection_job(ctx: ServiceContext, request: Request) -> Response:
    given = request.get("EntityRecognizerArn")
    if not given:
        raise InvalidRequestException(
            "EntityRecognizerArn is required: the local service has no built-in entity types (nor flywheels)"
        )
    recognizer_arn = _job_recognizer_arn(ctx, given)
    recognizer = _get_recognizer(ctx, recognizer_arn)
    if recognizer["Status"] not in TRAINED_STATUSES:
        raise ResourceUnavailableException(
            f"Entity recognizer {recognizer_arn} is in status {recognizer['Status']}; it must be TRAINED"
        )
    require(request, "DataAccessRoleArn")
    language = require(request, "LanguageCode")
    if language != recognizer["LanguageCode"]:
        raise InvalidRequestException(
            f"LanguageCode {language} does not match the recognizer's language {recognizer['LanguageCode']}"
        )
    input_config = dict(require(request, "InputDataConfig", dict))
    parse_s3_uri(require(input_config, "S3Uri"))
    input_config.setdefault("InputFormat", "ONE_DOC_PER_FILE")
    output_config = dict(require(request, "OutputDataConfig", dict))
    parse_s3_uri(require(output_config, "S3Uri"))
    token = request.get("ClientRequestToken")
    with ctx.store.lock:
        if token:
            for job in ctx.store.list(JOBS):
                if job.get("_token") == token:
                    return {k: job[k] for k in JOB_SUMMARY}
        job_id = new_id()
        output_config["S3Uri"] = join_uri(
            output_config["S3Uri"], f"{ctx.account_id}-NER-{job_id}", "output", "output.tar.gz"
        )
        record = {
            "JobId": job_id,
            "JobArn": ctx.arn(JOB_RESOURCE_TYPE, job_id),
            "JobName": request.get("JobName"),
            "JobStatus": "SUBMITTED",
            "SubmitTime": now(),
            "EntityRecognizerArn": recognizer_arn,
            "InputDataConfig": input_config,
            "OutputDataConfig": output_config,
            "LanguageCode": language,
            "DataAccessRoleArn": request["DataAccessRoleArn"],
            "VolumeKmsKeyId": request.get("VolumeKmsKeyId"),
            "VpcConfig": request.get("VpcConfig"),
            "_token": token,
            "_tags": request.get("Tags", []),
        }
        ctx.store.put(JOBS, job_id, record)
    ctx.submit(lambda: _run_job(ctx, job_id))
    return {k: record[k] for k in JOB_SUMMARY}


def _file_name(key: str, input_uri: str) -> str:
    """The name an output line reports: the key relative to the input prefix's folder."""
    _, prefix = parse_s3_uri(input_uri)
    folder = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
    return key[len(folder) :] if key.startswith(folder) else key


def _detect_input(ctx: ServiceContext, job: Record, model: EntityModel) -> list[str]:
    input_uri = job["InputDataConfig"]["S3Uri"]
    bucket, _ = parse_s3_uri(input_uri)
    keys = list_objects(ctx.s3, input_uri)
    if not keys:
        raise TrainingDataError(f"No input documents were found at {input_uri}")
    per_line = job["InputDataConfig"]["InputFormat"] == "ONE_DOC_PER_LINE"
    out: list[str] = []
    for key in keys:
        raw = read_object(ctx.s3, f"s3://{bucket}/{key}")
        try:
            content = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise TrainingDataError(f"Unable to decode s3://{bucket}/{key} as UTF-8") from exc
        name = _file_name(key, input_uri)
        if per_line:
            lines = content.split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            for number, line in enumerate(lines):
                text = line.rstrip("\r")
                if text.strip():
                    out.append(json.dumps({"File": name, "Line": number, "Entities": model.predict(text)}))
        elif content.strip():
            out.append(json.dumps({"File": name, "Entities": model.predict(content)}))
    return out


def _run_job(ctx: ServiceContext, job_id: str) -> None:
    if not ctx.pause():
        return
    ctx.store.update(JOBS, job_id, {"JobStatus": "IN_PROGRESS"})
    job = ctx.store.get(JOBS, job_id)
    if job is None:
        return
    try:
        failure = ctx.faults.take_job_failure()
        if failure is not None:
            raise TrainingDataError(failure)
        lines = _detect_input(ctx, job, ctx.model(job["EntityRecognizerArn"]))
        content = ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
        write_tar_gz(ctx.s3, job["OutputDataConfig"]["S3Uri"], {"output": content})
    except Exception as exc:
        message = str(exc) if isinstance(exc, TrainingDataError | S3ReadError) else f"Internal error: {exc}"
        ctx.store.update(JOBS, job_id, {"JobStatus": "FAILED", "Message": message, "EndTime": now()})
        return
    if not ctx.pause():
        return
    ctx.store.update(JOBS, job_id, {"JobStatus": "COMPLETED", "EndTime": now()})


@operation("DescribeEntitiesDetectionJob")
def describe_entities_detection_job(ctx: ServiceContext, request: Request) -> Response:
    job_id = require(request, "JobId")
    record = ctx.store.get(JOBS, job_id)
    if record is None:
        raise ResourceNotFoundException(f"Could not find job {job_id}")  # Comprehend: JobNotFoundException
    return {"EntitiesDetectionJobProperties": public(record)}


@operation("ListEntitiesDetectionJobs")
def list_entities_detection_jobs(ctx: ServiceContext, request: Request) -> Response:
    flt = request.get("Filter") or {}
    records = sorted(ctx.store.list(JOBS), key=lambda r: (r["SubmitTime"], r["JobId"]))
    selected = [
        public(r)
        for r in records
        if (not flt.get("JobStatus") or r["JobStatus"] == flt["JobStatus"])
        and (not flt.get("JobName") or r.get("JobName") == flt["JobName"])
        and time_filter(r["SubmitTime"], flt.get("SubmitTimeBefore"), flt.get("SubmitTimeAfter"))
    ]
    page, token = paginate(selected, request)
    response: Response = {"EntitiesDetectionJobPropertiesList": page}
    if token:
        response["NextToken"] = token
    return response


# --- real time ----------------------------------------------------------------------------------------
@operation("DetectEntities")
def detect_entities(ctx: ServiceContext, request: Request) -> Response:
    if request.get("Bytes") is not None:
        raise InvalidRequestException(
            "Semi-structured documents (Bytes) are not supported by the local service"
        )
    endpoint_arn = request.get("EndpointArn")
    if not endpoint_arn:
        raise InvalidRequestException(
            "EndpointArn is required: the local service has no built-in entity types"
        )
    text = request.get("Text")
    if not isinstance(text, str) or not text:
        raise InvalidRequestException("Text must be a non-empty string")
    size = len(text.encode("utf-8"))
    if size > MAX_ENDPOINT_TEXT_BYTES:
        raise TextSizeLimitExceededException(
            "Input text size exceeds limit. Max length of request text allowed is "
            f"{MAX_ENDPOINT_TEXT_BYTES} bytes while in this request the text size is {size} bytes"
        )
    model: EntityModel = endpoint_model(ctx, endpoint_arn, RESOURCE_TYPE)
    return {"Entities": model.predict(text)}


# --- restart ------------------------------------------------------------------------------------------
@on_restart
def _recover_recognizers(ctx: ServiceContext) -> None:
    """Work caught in flight by a restart: trainings end IN_ERROR, jobs FAILED, deletions complete."""
    timestamp = now()
    for record in ctx.store.list(RECOGNIZERS):
        arn, status = record["EntityRecognizerArn"], record["Status"]
        if status == "DELETING":
            _remove_recognizer(ctx, arn, record["_id"])
        elif status in IN_TRAINING:
            ctx.store.update(
                RECOGNIZERS,
                arn,
                {
                    "Status": "STOPPED" if status == "STOP_REQUESTED" else "IN_ERROR",
                    "Message": "The local Comprehend service restarted while the recognizer was training",
                    "EndTime": timestamp,
                },
            )
    for job in ctx.store.list(JOBS):
        if job["JobStatus"] in ("SUBMITTED", "IN_PROGRESS", "STOP_REQUESTED"):
            ctx.store.update(
                JOBS,
                job["JobId"],
                {
                    "JobStatus": "STOPPED" if job["JobStatus"] == "STOP_REQUESTED" else "FAILED",
                    "Message": "The local Comprehend service restarted while the job was running",
                    "EndTime": timestamp,
                },
            )
