"""User corrections (``POST /feedback``): the corrected label joins the label buffer.

A correction of a prediction (by its id) also counts towards live accuracy: did the user give the label the
model predicted? (:mod:`comprehend_al.traffic`).

The corrected label is checked against the model's labels (those of the prediction, or the active model's
from the registry for feedback by text) unless ``ALLOW_NEW_LABELS=true``; the row goes to the label
buffer (:mod:`comprehend_al.labels`), which turns full batches into training uploads. A correction of a
language line's prediction keeps its line: its upload goes to ``train/new/<line>/``, that line's data.
"""

from __future__ import annotations

from pydantic import BaseModel, field_validator

from comprehend_al.api import Request, check_text
from comprehend_al.datasets.classification import label_problems, text_hash
from comprehend_al.errors import (
    InvalidField,
    ModelNotReady,
    PredictionNotFound,
    TextNotRetained,
    UnknownLabel,
)
from comprehend_al.hierarchy import FLAT, corrected, decode_class, path_problems
from comprehend_al.labels import buffer_rows
from comprehend_al.lines import check_line
from comprehend_al.observability import logger
from comprehend_al.predict import CLASSIFIER, MAX_TEXT_BYTES, PREDICTION_ID, PredictDeps, model_version
from comprehend_al.store.label_buffer import LabelRow
from comprehend_al.traffic import predicted


class FeedbackRequest(Request):
    label: str | list[str]
    prediction_id: str | None = None
    text: str | None = None

    @field_validator("text")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return None if value is None else check_text(value, MAX_TEXT_BYTES)

    @field_validator("prediction_id")
    @classmethod
    def _prediction_id(cls, value: str | None) -> str | None:
        if value is not None and not PREDICTION_ID.fullmatch(value):
            raise InvalidField(
                "prediction_id must be the id /classify returned (1-128 letters, digits, '-', '_', '.', ':')",
                field="prediction_id",
            )
        return value

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


class FeedbackResponse(BaseModel):
    status: str = "buffered"
    prediction_id: str | None
    labels: list[str]
    pending: int  # rows waiting in the buffer after this one
    upload: str | None  # the training upload this feedback completed (retraining starts), if any


def active_model_labels(deps: PredictDeps) -> tuple[str | None, list[str]]:
    """(version, labels) of the active classifier, from SSM and the registry's dataset version."""
    version = model_version(deps)
    if version is None:
        raise ModelNotReady("no classifier is active yet: its labels are unknown")
    if version not in deps._model_labels:
        model = deps.registry.model(CLASSIFIER, version)
        labels: list[str] = []
        if model and model.dataset_version:
            record = deps.registry.dataset(CLASSIFIER, model.dataset_version)
            labels = sorted(record.dataset.label_counts) if record else []
            if deps.settings.taxonomy == FLAT:  # the model's class names, as /classify answers them
                labels = sorted(decode_class(label) for label in labels)
        if not labels:
            raise ModelNotReady(f"the labels of the active model {version} are not in the registry")
        deps._model_labels[version] = labels
    return version, deps._model_labels[version]


def feedback(request: FeedbackRequest, deps: PredictDeps) -> FeedbackResponse:
    settings = deps.settings
    labels = request.labels(multi_label=settings.multi_label, delimiter=settings.label_delimiter)
    if request.prediction_id is not None:
        prediction = deps.store.get(request.prediction_id)
        if prediction is None:
            raise PredictionNotFound(f"no prediction {request.prediction_id!r} (unknown or expired)")
        classes = prediction.get("classes", [])
        known = sorted(c["Name"] for c in classes)
        labels = corrected(prediction, labels, known)  # per level (comprehend_al.hierarchy)
        known = [*known, *labels] if prediction.get("levels") else known  # a taxonomy's: checked there
        model_version = prediction.get("model_version")
        scores = [(str(c["Name"]), float(c["Score"])) for c in classes]
        model_labels = predicted(scores, multi_label=settings.multi_label)
        text = request.text or prediction.get("text")
        if not text:
            raise TextNotRetained(
                "the text of this prediction was not kept: send it with the label", field="text"
            )
        row_id = f"feedback-{request.prediction_id}"
        line = check_line(str(prediction.get("line") or ""))  # a language line's correction trains that line
    elif request.text is not None:
        model_version, known = (None, []) if deps.loop.allow_new_labels else active_model_labels(deps)
        model_labels = ()  # no prediction to compare with
        text = request.text
        row_id = f"feedback-text-{text_hash(text)}"
        line = ""  # no prediction: the default line's model and data
    else:
        raise InvalidField("send prediction_id or text", field="prediction_id")

    def check(label: str) -> list[str]:
        return label_problems(
            label, multi_label=settings.multi_label, delimiter=settings.label_delimiter, max_chars=5000
        )

    for label in labels:
        if settings.taxonomy == FLAT:  # a path, as a flat taxonomy's uploads take it
            problems = path_problems(label, check)
        else:
            parts = label.split("/") if label in known and "/" in label else [label]  # a taxonomy's path
            problems = [p for part in parts for p in check(part)]
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
        line=line,
    )
    pending, flush = buffer_rows([row], deps.labels)
    if deps.traffic:
        deps.traffic.labelled(model_version, model_labels, labels, deps.clock())
    logger.info("feedback buffered", extra={"prediction_id": request.prediction_id, "pending": pending})
    return FeedbackResponse(
        prediction_id=request.prediction_id,
        labels=list(labels),
        pending=pending,
        upload=flush.key if flush else None,
    )
