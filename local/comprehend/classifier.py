"""Document classifiers: training, classification jobs and ClassifyDocument.

Operations: CreateDocumentClassifier, DescribeDocumentClassifier, ListDocumentClassifiers,
StopTrainingDocumentClassifier, DeleteDocumentClassifier, StartDocumentClassificationJob,
DescribeDocumentClassificationJob, ListDocumentClassificationJobs, ClassifyDocument. Endpoints come from
:mod:`local.comprehend.endpoints` through the ``document-classifier`` model kind registered here.

Training (a background thread): SUBMITTED → TRAINING → TRAINED | IN_ERROR | STOPPED. It reads the
``COMPREHEND_CSV`` training file (``LABEL,text``, no header, RFC 4180, UTF-8) and ``TestS3Uri`` when given
(else a stratified ~10 % of the training documents is held out), trains
:mod:`local.comprehend.engines.classification`, reports ``ClassifierMetadata`` and writes
``<OutputDataConfig.S3Uri>/<account>-CLR-<id>/output/output.tar.gz`` holding ``confusion_matrix.json``.

Jobs (a background thread): SUBMITTED → IN_PROGRESS → COMPLETED | FAILED, writing
``<OutputDataConfig.S3Uri>/<account>-CLN-<job id>/output/output.tar.gz`` holding ``predictions.jsonl``
(one line per input line with ONE_DOC_PER_LINE; the top 3 ``Classes``, or the ``Labels`` scoring ≥ 0.5,
as Comprehend's asynchronous output does). ClassifyDocument returns every label, best first.
"""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from local.comprehend.common import check_name, new_id, now, paginate, parse_arn, require, time_filter
from local.comprehend.endpoints import endpoint_model, endpoints_using
from local.comprehend.engines.classification import MULTI_LABEL_THRESHOLD, ClassifierModel, train
from local.comprehend.errors import (
    InvalidRequestException,
    JobNotFoundException,
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

RESOURCE_TYPE = "document-classifier"
ENDPOINT_RESOURCE_TYPE = "document-classifier-endpoint"
JOB_RESOURCE_TYPE = "document-classification-job"
CLASSIFIERS = "document-classifiers"
JOBS = "document-classification-jobs"
TRAINED_STATUSES = ("TRAINED", "TRAINED_WITH_WARNING")
IN_TRAINING = ("SUBMITTED", "TRAINING", "STOP_REQUESTED")
JOB_TOP_CLASSES = 3
TEST_FRACTION = 0.1
MIN_LABELS = 2


class TrainingDataError(Exception):
    """The training or test data cannot be used; the message becomes the classifier's ``Message``."""


# --- the model kind that endpoints serve --------------------------------------------------------------
def _get_classifier(ctx: ServiceContext, arn: str) -> Record:
    parts = parse_arn(arn)
    record = ctx.store.get(CLASSIFIERS, arn) if parts["type"] == RESOURCE_TYPE else None
    if record is None:
        raise ResourceNotFoundException(f"Could not find specified resource: {arn}")
    return record


def _model_status(ctx: ServiceContext, arn: str) -> str:
    return str(_get_classifier(ctx, arn)["Status"])


def _load_model(ctx: ServiceContext, arn: str) -> ClassifierModel:
    record = _get_classifier(ctx, arn)
    if record["Status"] not in TRAINED_STATUSES or not record.get("_model_path"):
        raise ResourceUnavailableException(f"Classifier {arn} has no trained model")
    return ClassifierModel.load(ctx.store.root / record["_model_path"])


register_model_kind(ModelKind(RESOURCE_TYPE, ENDPOINT_RESOURCE_TYPE, _model_status, _load_model))


# --- training data ------------------------------------------------------------------------------------
def parse_training_csv(
    raw: bytes, *, multi_label: bool, delimiter: str, source: str
) -> tuple[list[str], list[list[str]]]:
    """``LABEL,text`` rows → (texts, label lists). Raises TrainingDataError with a Comprehend-like message."""
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TrainingDataError(f"Unable to decode {source} as UTF-8: byte offset {exc.start}") from exc
    texts: list[str] = []
    labels: list[list[str]] = []
    reader = csv.reader(io.StringIO(content, newline=""), strict=True)
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) < 2:
                raise TrainingDataError(
                    f"{source}, line {reader.line_num}: expected LABEL,TEXT but found a single column"
                )
            text = ",".join(row[1:]).strip()
            names = [n.strip() for n in row[0].split(delimiter)] if multi_label else [row[0].strip()]
            if not text or any(not n for n in names):
                raise TrainingDataError(f"{source}, line {reader.line_num}: empty label or document")
            texts.append(text)
            labels.append(sorted(set(names)))
    except csv.Error as exc:
        raise TrainingDataError(f"{source}, line {reader.line_num}: malformed CSV: {exc}") from exc
    if not texts:
        raise TrainingDataError(f"{source} contains no documents")
    return texts, labels


def _validate_training(labels: list[list[str]], min_docs: int, multi_label: bool) -> None:
    counts = Counter(name for ls in labels for name in ls)
    if len(counts) < MIN_LABELS:
        raise TrainingDataError(
            f"The training data must contain at least {MIN_LABELS} unique labels; found {len(counts)}"
        )
    scarce = sorted(name for name, n in counts.items() if n < min_docs)
    if scarce:
        shown = ", ".join(f"{name} ({counts[name]})" for name in scarce[:20])
        raise TrainingDataError(
            f"Each label must have at least {min_docs} documents in the training data. "
            f"Labels with fewer documents: {shown}"
        )


def _hold_out(
    texts: list[str], labels: list[list[str]], seed: str
) -> tuple[list[str], list[list[str]], list[str], list[list[str]]]:
    """Stratified ~10 % test split (by first label), at least one document of each label held out."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, ls in enumerate(labels):
        by_label[ls[0]].append(i)
    rng = random.Random(seed)
    held: set[int] = set()
    for key in sorted(by_label):
        idx = by_label[key][:]
        rng.shuffle(idx)
        held.update(idx[: max(1, round(len(idx) * TEST_FRACTION))] if len(idx) >= 2 else [])
    keep = [i for i in range(len(texts)) if i not in held]
    test = sorted(held)
    return (
        [texts[i] for i in keep],
        [labels[i] for i in keep],
        [texts[i] for i in test],
        [labels[i] for i in test],
    )


def evaluate(
    model: ClassifierModel, texts: list[str], labels: list[list[str]]
) -> tuple[dict[str, float], dict[str, Any]]:
    """(EvaluationMetrics, confusion_matrix.json document) of ``model`` on a labelled test set."""
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        hamming_loss,
        multilabel_confusion_matrix,
        precision_recall_fscore_support,
    )
    from sklearn.preprocessing import MultiLabelBinarizer

    predicted = model.predict(texts)
    if model.multi_label:
        binarizer = MultiLabelBinarizer(classes=model.labels)
        y_true = binarizer.fit_transform(labels)
        y_pred = binarizer.transform(predicted)
        matrix = multilabel_confusion_matrix(y_true, y_pred).tolist()
        kind = "multi_label"
    else:
        y_true = [ls[0] for ls in labels]
        y_pred = [ls[0] for ls in predicted]
        matrix = confusion_matrix(y_true, y_pred, labels=model.labels).tolist()
        kind = "multi_class"
    label_arg: dict[str, Any] = {} if model.multi_label else {"labels": model.labels}
    macro = precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0, **label_arg)
    micro = precision_recall_fscore_support(y_true, y_pred, average="micro", zero_division=0, **label_arg)
    metrics = {
        "Accuracy": float(accuracy_score(y_true, y_pred)),
        "Precision": float(macro[0]),
        "Recall": float(macro[1]),
        "F1Score": float(macro[2]),
        "MicroPrecision": float(micro[0]),
        "MicroRecall": float(micro[1]),
        "MicroF1Score": float(micro[2]),
        "HammingLoss": float(hamming_loss(y_true, y_pred)),
    }
    document = {"type": kind, "confusion_matrix": matrix, "labels": model.labels, "all_labels": model.labels}
    return metrics, document


# --- training -----------------------------------------------------------------------------------------
def _set_status(ctx: ServiceContext, arn: str, status: str, **fields: Any) -> None:
    def change(record: Record) -> None:
        if record["Status"] == "STOP_REQUESTED" and status in ("TRAINED", "TRAINED_WITH_WARNING", "TRAINING"):
            return  # a stop request wins over progress; the worker notices it at its next step
        record["Status"] = status
        record.update(fields)

    ctx.store.update(CLASSIFIERS, arn, change)


def _stop_requested(ctx: ServiceContext, arn: str) -> bool:
    record = ctx.store.get(CLASSIFIERS, arn)
    return record is None or record["Status"] == "STOP_REQUESTED"


def _mark_stopped(ctx: ServiceContext, arn: str) -> None:
    timestamp = now()
    ctx.store.update(
        CLASSIFIERS,
        arn,
        {"Status": "STOPPED", "Message": "Training was stopped by request", "EndTime": timestamp},
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
    record = _get_classifier(ctx, arn)
    failure = ctx.faults.take_training_failure()
    if failure is not None:
        raise TrainingDataError(failure)
    config = record["InputDataConfig"]
    multi_label = record.get("Mode") == "MULTI_LABEL"
    delimiter = config.get("LabelDelimiter", "|")

    def load(uri: str) -> tuple[list[str], list[list[str]]]:
        try:
            raw = read_object(ctx.s3, uri)
        except S3ReadError as exc:
            raise TrainingDataError(f"Unable to access the training data: {exc}") from exc
        return parse_training_csv(raw, multi_label=multi_label, delimiter=delimiter, source=uri)

    texts, labels = load(config["S3Uri"])
    _validate_training(labels, ctx.min_docs_per_label, multi_label)
    if config.get("TestS3Uri"):
        test_texts, test_labels = load(config["TestS3Uri"])
        known = {name for ls in labels for name in ls}
        unknown = sorted({name for ls in test_labels for name in ls} - known)
        if unknown:
            raise TrainingDataError(
                "The test data contains labels that are not in the training data: " + ", ".join(unknown[:20])
            )
    else:
        texts, labels, test_texts, test_labels = _hold_out(texts, labels, seed=record["_id"])
    if _stop_requested(ctx, arn):
        return {}
    model = train(texts, labels, multi_label=multi_label)
    metrics, matrix = evaluate(model, test_texts, test_labels)
    model_path = ctx.store.model_dir(RESOURCE_TYPE, record["_id"]) / "model.pkl"
    model.save(model_path)
    outcome: dict[str, Any] = {
        "ClassifierMetadata": {
            "NumberOfLabels": len(model.labels),
            "NumberOfTrainedDocuments": len(texts),
            "NumberOfTestDocuments": len(test_texts),
            "EvaluationMetrics": metrics,
        },
        "_model_path": str(model_path.relative_to(ctx.store.root)),
    }
    output = record.get("OutputDataConfig") or {}
    if output.get("S3Uri"):
        try:
            write_tar_gz(
                ctx.s3, output["S3Uri"], {"confusion_matrix.json": json.dumps(matrix).encode("utf-8")}
            )
        except Exception as exc:
            raise TrainingDataError(
                f"Unable to write the training output to {output['S3Uri']}: {exc}"
            ) from exc
    return outcome


# --- classifier operations ----------------------------------------------------------------------------
@operation("CreateDocumentClassifier")
def create_document_classifier(ctx: ServiceContext, request: Request) -> Response:
    name = check_name(require(request, "DocumentClassifierName"), "documentClassifierName")
    version = request.get("VersionName")
    if version is not None:
        check_name(version, "versionName")
    require(request, "DataAccessRoleArn")
    require(request, "LanguageCode")
    mode = request.get("Mode", "MULTI_CLASS")
    config = dict(require(request, "InputDataConfig", dict))
    data_format = config.setdefault("DataFormat", "COMPREHEND_CSV")
    if data_format != "COMPREHEND_CSV":
        raise InvalidRequestException(f"DataFormat {data_format} is not supported by the local service")
    parse_s3_uri(require(config, "S3Uri"))
    if config.get("TestS3Uri"):
        parse_s3_uri(config["TestS3Uri"])
    if mode == "MULTI_LABEL":
        config.setdefault("LabelDelimiter", "|")
    elif "LabelDelimiter" in config:
        raise InvalidRequestException("LabelDelimiter can only be used with Mode MULTI_LABEL")
    output = dict(request.get("OutputDataConfig") or {})
    if output.get("S3Uri"):
        parse_s3_uri(output["S3Uri"])
    arn = ctx.arn(RESOURCE_TYPE, name, version)
    token = request.get("ClientRequestToken")
    with ctx.store.lock:
        existing = ctx.store.get(CLASSIFIERS, arn)
        if existing is not None:
            if token and existing.get("_token") == token:
                return {"DocumentClassifierArn": arn}
            what = f"version {version} of " if version else ""
            raise ResourceInUseException(f"A {what}classifier named {name} already exists: {arn}")
        ident = new_id()
        if output.get("S3Uri"):
            output["S3Uri"] = join_uri(
                output["S3Uri"], f"{ctx.account_id}-CLR-{ident}", "output", "output.tar.gz"
            )
        ctx.store.put(
            CLASSIFIERS,
            arn,
            {
                "DocumentClassifierArn": arn,
                "LanguageCode": request["LanguageCode"],
                "Status": "SUBMITTED",
                "SubmitTime": now(),
                "InputDataConfig": config,
                "OutputDataConfig": output or None,
                "DataAccessRoleArn": request["DataAccessRoleArn"],
                "VolumeKmsKeyId": request.get("VolumeKmsKeyId"),
                "VpcConfig": request.get("VpcConfig"),
                "Mode": mode,
                "ModelKmsKeyId": request.get("ModelKmsKeyId"),
                "VersionName": version,
                "_id": ident,
                "_name": name,
                "_token": token,
                "_tags": request.get("Tags", []),
            },
        )
    ctx.submit(lambda: _run_training(ctx, arn), training=True)
    return {"DocumentClassifierArn": arn}


@operation("DescribeDocumentClassifier")
def describe_document_classifier(ctx: ServiceContext, request: Request) -> Response:
    record = _get_classifier(ctx, require(request, "DocumentClassifierArn"))
    return {"DocumentClassifierProperties": public(record)}


@operation("ListDocumentClassifiers")
def list_document_classifiers(ctx: ServiceContext, request: Request) -> Response:
    flt = request.get("Filter") or {}
    records = sorted(ctx.store.list(CLASSIFIERS), key=lambda r: (r["SubmitTime"], r["DocumentClassifierArn"]))
    selected = [
        public(r)
        for r in records
        if (not flt.get("Status") or r["Status"] == flt["Status"])
        and (not flt.get("DocumentClassifierName") or r["_name"] == flt["DocumentClassifierName"])
        and time_filter(r["SubmitTime"], flt.get("SubmitTimeBefore"), flt.get("SubmitTimeAfter"))
    ]
    page, token = paginate(selected, request)
    response: Response = {"DocumentClassifierPropertiesList": page}
    if token:
        response["NextToken"] = token
    return response


@operation("StopTrainingDocumentClassifier")
def stop_training_document_classifier(ctx: ServiceContext, request: Request) -> Response:
    arn = require(request, "DocumentClassifierArn")
    with ctx.store.lock:
        record = _get_classifier(ctx, arn)
        if record["Status"] in ("SUBMITTED", "TRAINING"):
            ctx.store.update(CLASSIFIERS, arn, {"Status": "STOP_REQUESTED"})
    return {}


def _remove_classifier(ctx: ServiceContext, arn: str, ident: str) -> None:
    ctx.pause()
    ctx.forget_model(arn)
    shutil.rmtree(ctx.store.model_dir(RESOURCE_TYPE, ident), ignore_errors=True)
    ctx.store.delete(CLASSIFIERS, arn)


@operation("DeleteDocumentClassifier")
def delete_document_classifier(ctx: ServiceContext, request: Request) -> Response:
    arn = require(request, "DocumentClassifierArn")
    with ctx.store.lock:
        record = _get_classifier(ctx, arn)
        if record["Status"] in IN_TRAINING:
            raise ResourceInUseException(
                f"Classifier {arn} is being trained ({record['Status']}); stop it first"
            )
        users = endpoints_using(ctx, arn)
        if users:
            raise ResourceInUseException(f"Classifier {arn} is used by endpoint(s): {', '.join(users)}")
        if record["Status"] == "DELETING":
            return {}
        ctx.store.update(CLASSIFIERS, arn, {"Status": "DELETING"})
    ctx.submit(lambda: _remove_classifier(ctx, arn, record["_id"]))
    return {}


# --- classification jobs ------------------------------------------------------------------------------
def _job_classifier_arn(ctx: ServiceContext, arn: str) -> str:
    """The classifier ARN of a job: given directly, or through an endpoint's current model."""
    kind = parse_arn(arn)["type"]
    if kind == ENDPOINT_RESOURCE_TYPE:
        from local.comprehend.endpoints import KIND as ENDPOINTS

        endpoint = ctx.store.get(ENDPOINTS, arn)
        if endpoint is None:
            raise ResourceNotFoundException(f"Endpoint not found: {arn}")
        return str(endpoint["ModelArn"])
    if kind != RESOURCE_TYPE:
        raise InvalidRequestException(f"{arn} is not a document classifier ARN")
    return arn


@operation("StartDocumentClassificationJob")
def start_document_classification_job(ctx: ServiceContext, request: Request) -> Response:
    given = request.get("DocumentClassifierArn")
    if not given:
        raise InvalidRequestException(
            "DocumentClassifierArn is required (flywheels are not supported locally)"
        )
    classifier_arn = _job_classifier_arn(ctx, given)
    classifier = _get_classifier(ctx, classifier_arn)
    if classifier["Status"] not in TRAINED_STATUSES:
        raise ResourceUnavailableException(
            f"Classifier {classifier_arn} is in status {classifier['Status']}; it must be TRAINED"
        )
    require(request, "DataAccessRoleArn")
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
                    return {k: job[k] for k in ("JobId", "JobArn", "JobStatus", "DocumentClassifierArn")}
        job_id = new_id()
        output_config["S3Uri"] = join_uri(
            output_config["S3Uri"], f"{ctx.account_id}-CLN-{job_id}", "output", "output.tar.gz"
        )
        record = {
            "JobId": job_id,
            "JobArn": ctx.arn(JOB_RESOURCE_TYPE, job_id),
            "JobName": request.get("JobName"),
            "JobStatus": "SUBMITTED",
            "SubmitTime": now(),
            "DocumentClassifierArn": classifier_arn,
            "InputDataConfig": input_config,
            "OutputDataConfig": output_config,
            "DataAccessRoleArn": request["DataAccessRoleArn"],
            "VolumeKmsKeyId": request.get("VolumeKmsKeyId"),
            "VpcConfig": request.get("VpcConfig"),
            "_token": token,
            "_tags": request.get("Tags", []),
        }
        ctx.store.put(JOBS, job_id, record)
    ctx.submit(lambda: _run_job(ctx, job_id))
    return {k: record[k] for k in ("JobId", "JobArn", "JobStatus", "DocumentClassifierArn")}


def _prediction(model: ClassifierModel, ranked: list[tuple[str, float]]) -> dict[str, Any]:
    if model.multi_label:
        return {"Labels": [{"Name": n, "Score": s} for n, s in ranked if s >= MULTI_LABEL_THRESHOLD]}
    return {"Classes": [{"Name": n, "Score": s} for n, s in ranked[:JOB_TOP_CLASSES]]}


def _file_name(key: str, input_uri: str) -> str:
    """The name a prediction reports: the key relative to the input prefix's folder."""
    _, prefix = parse_s3_uri(input_uri)
    folder = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
    return key[len(folder) :] if key.startswith(folder) else key


def _classify_input(ctx: ServiceContext, job: Record, model: ClassifierModel) -> list[str]:
    input_uri = job["InputDataConfig"]["S3Uri"]
    bucket, _ = parse_s3_uri(input_uri)
    keys = list_objects(ctx.s3, input_uri)
    if not keys:
        raise TrainingDataError(f"No input documents were found at {input_uri}")
    per_line = job["InputDataConfig"]["InputFormat"] == "ONE_DOC_PER_LINE"
    lines_out: list[str] = []
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
            numbered = [(i, line.rstrip("\r")) for i, line in enumerate(lines) if line.strip()]
            ranked = model.predict_proba([text for _, text in numbered]) if numbered else []
            for (i, _text), scores in zip(numbered, ranked, strict=True):
                lines_out.append(json.dumps({"File": name, "Line": str(i), **_prediction(model, scores)}))
        elif content.strip():
            scores = model.predict_proba([content])[0]
            lines_out.append(json.dumps({"File": name, **_prediction(model, scores)}))
    return lines_out


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
        model = ctx.model(job["DocumentClassifierArn"])
        lines = _classify_input(ctx, job, model)
        content = ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
        write_tar_gz(ctx.s3, job["OutputDataConfig"]["S3Uri"], {"predictions.jsonl": content})
    except Exception as exc:
        message = str(exc) if isinstance(exc, TrainingDataError | S3ReadError) else f"Internal error: {exc}"
        ctx.store.update(JOBS, job_id, {"JobStatus": "FAILED", "Message": message, "EndTime": now()})
        return
    if not ctx.pause():
        return
    ctx.store.update(JOBS, job_id, {"JobStatus": "COMPLETED", "EndTime": now()})


@operation("DescribeDocumentClassificationJob")
def describe_document_classification_job(ctx: ServiceContext, request: Request) -> Response:
    job_id = require(request, "JobId")
    record = ctx.store.get(JOBS, job_id)
    if record is None:
        raise JobNotFoundException(f"Could not find job {job_id}")
    return {"DocumentClassificationJobProperties": public(record)}


@operation("ListDocumentClassificationJobs")
def list_document_classification_jobs(ctx: ServiceContext, request: Request) -> Response:
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
    response: Response = {"DocumentClassificationJobPropertiesList": page}
    if token:
        response["NextToken"] = token
    return response


# --- real time ----------------------------------------------------------------------------------------
@operation("ClassifyDocument")
def classify_document(ctx: ServiceContext, request: Request) -> Response:
    if request.get("Bytes") is not None:
        raise InvalidRequestException(
            "Semi-structured documents (Bytes) are not supported by the local service"
        )
    text = request.get("Text")
    if not isinstance(text, str) or not text:
        raise InvalidRequestException("Text must be a non-empty string")
    size = len(text.encode("utf-8"))
    if size > ctx.max_text_bytes:
        raise TextSizeLimitExceededException(
            f"Input text size exceeds limit. Max length of request text allowed is {ctx.max_text_bytes} "
            "bytes "
            f"while in this request the text size is {size} bytes"
        )
    model: ClassifierModel = endpoint_model(ctx, require(request, "EndpointArn"), RESOURCE_TYPE)
    ranked = model.predict_proba([text])[0]
    key = "Labels" if model.multi_label else "Classes"
    return {key: [{"Name": name, "Score": score} for name, score in ranked]}


# --- restart ------------------------------------------------------------------------------------------
@on_restart
def _recover_classifiers(ctx: ServiceContext) -> None:
    """Work caught in flight by a restart: trainings end IN_ERROR, jobs FAILED, deletions complete."""
    timestamp = now()
    for record in ctx.store.list(CLASSIFIERS):
        arn, status = record["DocumentClassifierArn"], record["Status"]
        if status == "DELETING":
            _remove_classifier(ctx, arn, record["_id"])
        elif status in IN_TRAINING:
            ctx.store.update(
                CLASSIFIERS,
                arn,
                {
                    "Status": "STOPPED" if status == "STOP_REQUESTED" else "IN_ERROR",
                    "Message": "The local Comprehend service restarted while the classifier was training",
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
