"""Where the annotation records live: JSON objects under ``annotation/`` in the data bucket.

``annotation/gold/<item id>.json``            a gold document: text, the model's spans, the known answer
``annotation/annotators/<worker>.json``       one annotator's running figures (gold answers, documents)
``annotation/accepted/<loop>/<item>.json``    a document accepted for training, waiting for the next batch
``annotation/audit/<loop>/<time>-<action>-<worker>.json``   one audited action (never rewritten)
``annotation/batches/<batch>.json``           a written batch's lineage: each document's loop and people

One object per record: concurrent ProcessReview invocations never rewrite each other's records, except an
annotator's running figures (read, add, write: a lost update under a race costs one gold answer's count).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Protocol

from comprehend_al.errors import ResourceNotFound

PREFIX = "annotation/"
GOLD = PREFIX + "gold/"
ANNOTATORS = PREFIX + "annotators/"
ACCEPTED = PREFIX + "accepted/"
AUDIT = PREFIX + "audit/"
BATCHES = PREFIX + "batches/"


class ObjectInfoLike(Protocol):
    key: str


class Objects(Protocol):
    """What the annotation records need of a bucket (:class:`comprehend_al.aws.s3.Bucket` has it)."""

    def get(self, key: str) -> bytes: ...

    def put(self, key: str, body: bytes, *, content_type: str = ...) -> Any: ...

    def list(self, prefix: str) -> Iterator[Any]: ...

    def delete(self, key: str) -> None: ...


def read_json(objects: Objects, key: str) -> Any | None:
    """The JSON object at ``key``; None when there is none."""
    try:
        return json.loads(objects.get(key))
    except ResourceNotFound:
        return None


def write_json(objects: Objects, key: str, value: Any) -> None:
    objects.put(
        key,
        json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8"),
        content_type="application/json",
    )


def keys(objects: Objects, prefix: str) -> list[str]:
    return sorted(info.key for info in objects.list(prefix))


def safe_part(value: str) -> str:
    """A key segment for an id or a worker name (no slash, nothing S3 treats specially)."""
    cleaned = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in value)[:120]
    return cleaned or "_"
