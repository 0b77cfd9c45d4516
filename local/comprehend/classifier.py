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
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from local.comprehend.common import check_text, reject_bytes, require
from local.comprehend.context import ServiceContext
from local.comprehend.endpoints import endpoint_model
from local.comprehend.engines.classification import MULTI_LABEL_THRESHOLD, ClassifierModel, train
from local.comprehend.errors import (
    InvalidRequestException,
)
from local.comprehend.models import JobSpec, ModelSpec, TrainingDataError, job_documents, read_training_data
from local.comprehend.registry import Request, Response, operation
from local.comprehend.s3io import join_uri, parse_s3_uri, write_tar_gz
from local.comprehend.store import Record

JOB_TOP_CLASSES = 3
TEST_FRACTION = 0.1
MIN_LABELS = 2


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
def _train_and_evaluate(
    ctx: ServiceContext, record: Record, stop_requested: Callable[[], bool]
) -> dict[str, Any]:
    config = record["InputDataConfig"]
    multi_label = record.get("Mode") == "MULTI_LABEL"
    delimiter = config.get("LabelDelimiter", "|")

    def load(uri: str) -> tuple[list[str], list[list[str]]]:
        raw = read_training_data(ctx, uri)
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
    if stop_requested():
        return {}
    model = train(texts, labels, multi_label=multi_label)
    metrics, matrix = evaluate(model, test_texts, test_labels)
    model_path = ctx.store.model_dir(SPEC.resource_type, record["_id"]) / "model.pkl"
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
    name, version = SPEC.check_create(request)
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

    def extra_fields(ident: str) -> dict[str, Any]:
        if output.get("S3Uri"):
            output["S3Uri"] = join_uri(
                output["S3Uri"], f"{ctx.account_id}-CLR-{ident}", "output", "output.tar.gz"
            )
        return {"OutputDataConfig": output or None, "Mode": mode}

    return SPEC.create(ctx, request, name, version, config, extra_fields)


# --- classification jobs ------------------------------------------------------------------------------
def _prediction(model: ClassifierModel, ranked: list[tuple[str, float]]) -> dict[str, Any]:
    if model.multi_label:
        return {"Labels": [{"Name": n, "Score": s} for n, s in ranked if s >= MULTI_LABEL_THRESHOLD]}
    return {"Classes": [{"Name": n, "Score": s} for n, s in ranked[:JOB_TOP_CLASSES]]}


def _classify_input(ctx: ServiceContext, job: Record, model: ClassifierModel) -> list[str]:
    lines_out: list[str] = []
    for name, documents in job_documents(ctx, job):
        ranked = model.predict_proba([text for _, text in documents]) if documents else []
        for (line, _text), scores in zip(documents, ranked, strict=True):
            where = {"File": name} if line is None else {"File": name, "Line": str(line)}
            lines_out.append(json.dumps({**where, **_prediction(model, scores)}))
    return lines_out


# --- real time ----------------------------------------------------------------------------------------
@operation("ClassifyDocument")
def classify_document(ctx: ServiceContext, request: Request) -> Response:
    reject_bytes(request)
    text = check_text(request, ctx.max_text_bytes)
    model: ClassifierModel = endpoint_model(ctx, require(request, "EndpointArn"), SPEC.resource_type)
    ranked = model.predict_proba([text])[0]
    key = "Labels" if model.multi_label else "Classes"
    return {key: [{"Name": name, "Score": score} for name, score in ranked]}


# --- the kind -----------------------------------------------------------------------------------------
SPEC = ModelSpec(
    operation_noun="DocumentClassifier",
    noun="classifier",
    load=ClassifierModel.load,
    train=_train_and_evaluate,
    job=JobSpec(
        operation_noun="DocumentClassificationJob",
        output_code="CLN",
        output_member="predictions.jsonl",
        missing_model="DocumentClassifierArn is required (flywheels are not supported locally)",
        predict=_classify_input,
    ),
).register()
