"""User corrections (``POST /feedback``): the corrected label joins the label buffer.

The corrected label is checked against the model's labels (those of the prediction, or the active model's
from the registry for feedback by text) unless ``ALLOW_NEW_LABELS=true``; the row goes to the label
buffer (:mod:`comprehend_al.labels`), which turns full batches into training uploads.
"""

from __future__ import annotations

from comprehend_al.datasets.classification import label_problems, text_hash
from comprehend_al.errors import (
    InvalidField,
    ModelNotReady,
    PredictionNotFound,
    TextNotRetained,
    UnknownLabel,
)
from comprehend_al.labels import buffer_rows
from comprehend_al.observability import logger
from comprehend_al.predict import CLASSIFIER, FeedbackRequest, FeedbackResponse, PredictDeps, model_version
from comprehend_al.store.label_buffer import LabelRow


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
