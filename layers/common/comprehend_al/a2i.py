"""Human review with Amazon A2I: start a human loop for uncertain predictions, read completed loops.

The loop input (``HumanLoopInput.InputContent``, the worker template's ``task.input``)::

    {"items": [{"id": "<prediction id>", "text": "...", "scores": [{"Name": "...", "Score": 0.4}, ...]}],
     "labels": ["<every label of the model that made the prediction>"], "multiLabel": false}

The labels come from the prediction's classes (ClassifyDocument returns every class of the model), never
from a list in the template. The worker template (``review/worker-task-template.liquid.html``) names each
item's answer ``label-<id>``, so :func:`parse_output` pairs answers with items BY ID: never by position
or key order (the public sample sorted ``label-10`` before ``label-2`` and mislabelled whole batches).

Completed loops arrive as EventBridge ``SageMaker A2I HumanLoop Status Change`` events; the loop's
``output.json`` (``inputContent``, ``humanAnswers[].answerContent``) is read from the data bucket and
the reviewed rows go to the label buffer.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3

from comprehend_al.annotation.consolidate import loop_kind
from comprehend_al.annotation.process import AnnotationDeps, AnnotationProcessed, process_annotation
from comprehend_al.aws.errors import aws_call
from comprehend_al.aws.s3 import split_uri
from comprehend_al.datasets.classification import label_problems
from comprehend_al.errors import InvalidRequest
from comprehend_al.hierarchy import FLAT, path_problems
from comprehend_al.labels import LabelDeps, buffer_rows
from comprehend_al.lines import check_line
from comprehend_al.observability import logger
from comprehend_al.store.label_buffer import FlushResult, LabelRow
from comprehend_al.traffic import predicted

ANSWER_PREFIX = "label-"
LOOP_NAME = re.compile(r"^[a-z0-9](-*[a-z0-9]){0,62}$")
COMPLETED = "Completed"
MAX_TEXT_BYTES = 10_000  # a training document, as ClassifyDocument takes it


@dataclass(frozen=True, slots=True)
class ReviewItem:
    id: str
    text: str
    scores: tuple[tuple[str, float], ...]  # (label, score), as the model returned them

    def as_input(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "scores": [{"Name": n, "Score": s} for n, s in self.scores]}


def review_input(
    items: Sequence[ReviewItem],
    labels: Iterable[str],
    *,
    multi_label: bool = False,
    model_version: str | None = None,
    line: str = "",
) -> dict[str, Any]:
    """The human loop's input content: the model's ``labels`` (sorted: no order hints the answer), the
    ``model_version`` answers count against (live accuracy), its ``line``, whose data the answers join."""
    if not items:
        raise InvalidRequest("a human loop needs at least one item")
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        raise InvalidRequest("item ids of one human loop must be unique")
    content: dict[str, Any] = {
        "items": [item.as_input() for item in items],
        "labels": sorted(set(labels)),
        "multiLabel": multi_label,
    }
    optional = {"modelVersion": model_version, "line": line}
    content.update((key, value) for key, value in optional.items() if value)
    return content


def loop_name(prediction_id: str, prefix: str = "p-") -> str:
    """A valid HumanLoopName (lower-case letters, digits and hyphens, at most 63) for one prediction
    (``prefix`` ``e-``: one entity document)."""
    name = prefix + re.sub(r"[^a-z0-9]+", "-", prediction_id.lower()).strip("-")
    name = re.sub(r"-{2,}", "-", name)[:63].rstrip("-")
    if not LOOP_NAME.match(name):
        raise InvalidRequest(f"cannot make a human loop name of {prediction_id!r}")
    return name


class HumanReview:
    """The ``sagemaker-a2i-runtime`` client (AWS, or the local stand-in via its endpoint URL)."""

    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("sagemaker-a2i-runtime")
        return self._client

    def start(self, name: str, flow_definition_arn: str, content: dict[str, Any]) -> str:
        """Start the loop; returns its ARN. Typed errors (throttling, quota, conflict) from the adapter."""
        with aws_call("StartHumanLoop"):
            response = self.client.start_human_loop(
                HumanLoopName=name,
                FlowDefinitionArn=flow_definition_arn,
                HumanLoopInput={"InputContent": json.dumps(content, ensure_ascii=False)},
            )
        return str(response["HumanLoopArn"])


# --- output.json ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReviewedItem:
    id: str
    text: str
    labels: tuple[str, ...]
    votes: int  # answers that chose these labels
    answers: int  # answers given for this item


@dataclass(frozen=True, slots=True)
class ParsedOutput:
    reviewed: tuple[ReviewedItem, ...]
    unanswered: tuple[str, ...]  # item ids nobody answered (or with no majority)
    rejected: tuple[str, ...]  # answers naming an unknown item or a label outside the choices


def _chosen(value: Any) -> tuple[str, ...]:
    """The label(s) of one answer, whatever element produced it.

    ``"X"`` (a native radio input or select), ``{"label": "X"}`` (crowd-classifier), ``{"labels": [...]}``,
    ``{"X": true, "Y": false}`` (crowd-radio-button / checkboxes), or a list of those.
    """
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    if isinstance(value, list):
        return tuple(label for part in value for label in _chosen(part))
    if isinstance(value, dict):
        if "label" in value and isinstance(value["label"], str):
            return _chosen(value["label"])
        if "labels" in value and isinstance(value["labels"], list):
            return _chosen(value["labels"])
        return tuple(str(k) for k, v in value.items() if v is True or (isinstance(v, dict) and v.get("on")))
    return ()


def parse_output(
    output: dict[str, Any], *, allow_new_labels: bool = False, delimiter: str = "|", taxonomy: str = ""
) -> ParsedOutput:
    """Pair each answer with its input item by the id in its ``label-<id>`` key; majority over workers.

    An item is reviewed when more than half of the answers given for it agree (one reviewer: their
    answer). Labels outside the loop's choices are rejected unless ``allow_new_labels``.
    """
    content = output.get("inputContent") or {}
    items = {str(item["id"]): item for item in content.get("items", []) if "id" in item}
    choices = set(content.get("labels") or [])
    multi_label = bool(content.get("multiLabel"))
    votes: dict[str, Counter[tuple[str, ...]]] = {item_id: Counter() for item_id in items}
    rejected: list[str] = []
    for answer in output.get("humanAnswers") or []:
        for key, value in (answer.get("answerContent") or {}).items():
            if not key.startswith(ANSWER_PREFIX):
                continue  # other form fields (comments, flags) are not labels
            item_id = key[len(ANSWER_PREFIX) :]
            if item_id not in items:
                rejected.append(key)
                continue
            labels = tuple(sorted(set(_chosen(value))))
            if not labels or (not multi_label and len(labels) != 1):
                rejected.append(key)
                continue
            if not allow_new_labels and not set(labels) <= choices:
                rejected.append(key)
                continue

            def check(lab: str) -> list[str]:
                return label_problems(lab, multi_label=multi_label, delimiter=delimiter, max_chars=5000)

            if any(path_problems(lab, check) if taxonomy == FLAT else check(lab) for lab in labels):
                rejected.append(key)
                continue
            votes[item_id][labels] += 1
    reviewed, unanswered = [], []
    for item_id, counter in votes.items():
        given = sum(counter.values())
        best = counter.most_common(2)
        if not best or best[0][1] * 2 <= given:
            unanswered.append(item_id)
            continue
        labels, count = best[0]
        text = str(items[item_id].get("text", ""))
        if not text.strip() or len(text.encode("utf-8")) > MAX_TEXT_BYTES:
            rejected.append(ANSWER_PREFIX + item_id)  # not a document Comprehend can train on
            continue
        reviewed.append(ReviewedItem(item_id, text, labels, count, given))
    return ParsedOutput(tuple(reviewed), tuple(unanswered), tuple(rejected))


# --- ProcessReview ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReviewProcessed:
    human_loop_name: str
    reviewed: int
    unanswered: int
    rejected: int
    pending: int
    flush: FlushResult | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "human_loop_name": self.human_loop_name,
            "reviewed": self.reviewed,
            "unanswered": self.unanswered,
            "rejected": self.rejected,
            "pending": self.pending,
            "flush": self.flush.as_dict() if self.flush else None,
        }


def output_uri_of(event: dict[str, Any]) -> tuple[str, str]:
    """(loop name, output.json URI) of a Completed status-change event; InvalidRequest otherwise."""
    detail = event.get("detail") or {}
    status = detail.get("humanLoopStatus")
    if status != COMPLETED:
        raise InvalidRequest(f"human loop status {status!r}: only Completed loops have answers")
    uri = (detail.get("humanLoopOutput") or {}).get("outputS3Uri")
    if not uri:
        raise InvalidRequest("event has no detail.humanLoopOutput.outputS3Uri")
    return str(detail.get("humanLoopName", "")), str(uri)


def process_review(
    event: dict[str, Any], deps: LabelDeps, review: HumanReview | None = None
) -> ReviewProcessed | AnnotationProcessed:
    """Read a completed loop's answers and buffer the reviewed rows (flushing at the batch size).

    Entity and adjudication loops (``"kind"`` in their input) go to :mod:`comprehend_al.annotation`."""
    name, uri = output_uri_of(event)
    bucket, key = split_uri(uri)
    if bucket != deps.bucket.name:
        raise InvalidRequest(f"review output {uri} is not in the data bucket {deps.bucket.name}")
    output = json.loads(deps.bucket.get(key))
    if loop_kind(output.get("inputContent")):
        annotation = AnnotationDeps(
            deps.bucket, deps.params, review or HumanReview(), deps.settings.upload_prefix
        )
        return process_annotation(name, output, annotation)
    line = check_line(str((output.get("inputContent") or {}).get("line") or ""))
    parsed = parse_output(
        output,
        allow_new_labels=deps.loop.allow_new_labels,
        delimiter=deps.settings.label_delimiter,
        taxonomy=deps.settings.taxonomy,  # flat: the choices are paths (comprehend_al.hierarchy)
    )
    rows = [
        LabelRow(
            row_id=f"review-{item.id}",
            labels=item.labels,
            text=item.text,
            source="review",
            prediction_id=item.id,
            line=line,
        )
        for item in parsed.reviewed
    ]
    pending, flush = buffer_rows(rows, deps)
    if deps.traffic:
        _count_answers(output.get("inputContent") or {}, parsed, deps)
    logger.info(
        "human review processed",
        extra={
            "human_loop_name": name,
            "reviewed": len(rows),
            "unanswered": len(parsed.unanswered),
            "rejected": len(parsed.rejected),
        },
    )
    return ReviewProcessed(name, len(rows), len(parsed.unanswered), len(parsed.rejected), pending, flush)


def _count_answers(content: dict[str, Any], parsed: ParsedOutput, deps: LabelDeps) -> None:
    """Live accuracy: each reviewed item against the model's own prediction; the loop's items are closed."""
    assert deps.traffic is not None
    now = datetime.now(UTC)
    items = {str(item.get("id")): item for item in content.get("items", [])}
    version = content.get("modelVersion")
    multi_label = bool(content.get("multiLabel"))
    for reviewed in parsed.reviewed:
        scores = [(str(s["Name"]), float(s["Score"])) for s in items[reviewed.id].get("scores", [])]
        model_labels = predicted(scores, multi_label=multi_label)
        deps.traffic.labelled(version, model_labels, reviewed.labels, now)
    for item_id in items:
        deps.traffic.review_closed(item_id)
