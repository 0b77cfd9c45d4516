"""Accepted documents → one entity batch in Comprehend's format under ``train/new/``.

Accepted documents wait at ``annotation/accepted/<loop>/<item>.json``. :func:`flush_accepted` writes them,
when at least ``min_documents`` wait, as ``train/new/review-entities-<UTC time>-<n>/documents.txt`` then
``annotations.csv`` (the second file starts the lifecycle, as for any upload), after checking both with
the upload validator (:func:`comprehend_al.datasets.entities.validate_upload`). The batch's lineage (each
document's loop, annotators, adjudicator) goes to ``annotation/batches/<batch>.json`` and one ``batched``
audit event per document; only then are the accepted records deleted, so a failure leaves them waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from comprehend_al.annotation.audit import AuditEvent, AuditLog
from comprehend_al.annotation.spans import Span
from comprehend_al.annotation.store import ACCEPTED, BATCHES, Objects, keys, read_json, safe_part, write_json
from comprehend_al.datasets.entities import (
    Annotation,
    EntityLimits,
    EntityUpload,
    to_files,
    validate_upload,
)
from comprehend_al.errors import InvalidRequest


@dataclass(frozen=True)
class BatchResult:
    key: str | None  # the annotations.csv written (None: nothing written)
    documents: int
    reason: str  # written | below_minimum | empty

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "documents": self.documents, "reason": self.reason}


def trainable_text(text: str) -> str | None:
    """Why ``text`` cannot be one line of ``documents.txt`` (None: it can)."""
    limit = EntityLimits().max_document_bytes
    if not text.strip():
        return "the document is empty"
    if "\n" in text or "\r" in text:
        return "the document spans several lines (documents.txt holds one document per line)"
    if len(text.encode("utf-8")) > limit:
        return f"the document is longer than {limit} bytes"
    return None


def accept(
    objects: Objects, loop: str, item_id: str, text: str, spans: tuple[Span, ...], lineage: dict[str, Any]
) -> str:
    """Keep an accepted document for the next batch; InvalidRequest when it cannot be a training line."""
    problem = trainable_text(text)
    if problem:
        raise InvalidRequest(f"item {item_id}: {problem}")
    key = f"{ACCEPTED}{safe_part(loop)}/{safe_part(item_id)}.json"
    write_json(
        objects, key, {"id": item_id, "text": text, "entities": [s.as_json() for s in spans], **lineage}
    )
    return key


def pending(objects: Objects) -> list[str]:
    return keys(objects, ACCEPTED)


def flush_accepted(
    objects: Objects, *, prefix: str = "train/new/", min_documents: int = 1, now: datetime | None = None
) -> BatchResult:
    waiting = pending(objects)
    if not waiting:
        return BatchResult(None, 0, "empty")
    if len(waiting) < min_documents:
        return BatchResult(None, len(waiting), "below_minimum")
    records = [(key, read_json(objects, key)) for key in waiting]
    latest: dict[str, tuple[str, dict[str, Any]]] = {}
    for key, record in sorted(
        ((k, r) for k, r in records if r), key=lambda kr: (str(kr[1].get("at", "")), kr[0])
    ):
        latest[record["text"]] = (key, record)  # one version of a text per batch: the latest decision
    chosen = [record for _, record in latest.values()]
    dataset = EntityUpload(
        documents=[r["text"] for r in chosen],
        annotations=sorted(
            Annotation(index, e["BeginOffset"], e["EndOffset"], e["Type"])
            for index, r in enumerate(chosen)
            for e in r["entities"]
        ),
    )
    documents, annotations = to_files(dataset)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    name = f"review-entities-{moment.strftime('%Y%m%dT%H%M%S%fZ')}-{len(chosen)}"
    folder = f"{prefix}{name}/"
    validate_upload(
        documents,
        annotations,
        documents_file=folder + "documents.txt",
        annotations_file=folder + "annotations.csv",
    )
    lineage = [
        {
            "line": line,
            "item": r["id"],
            **{k: r.get(k) for k in ("loop", "sourceLoop", "decision", "annotators", "adjudicator", "at")},
        }
        for line, r in enumerate(chosen)
    ]
    write_json(objects, f"{BATCHES}{name}.json", {"batch": folder, "documents": lineage})
    objects.put(folder + "documents.txt", documents, content_type="text/plain")
    objects.put(folder + "annotations.csv", annotations, content_type="text/csv")
    audit = AuditLog(objects)
    for line, r in enumerate(chosen):
        audit.record(
            AuditEvent(
                "batched", str(r.get("loop", "")), r["id"], "system", details={"batch": folder, "line": line}
            )
        )
    for key in waiting:
        objects.delete(key)
    return BatchResult(folder + "annotations.csv", len(chosen), "written")
