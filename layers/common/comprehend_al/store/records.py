"""Typed records of the registry table: what a read returns and what a write may change.

Records allow extra attributes (an item written by a newer version of the code still reads), but every
attribute the code uses is a typed field, and every change a caller can make is a key of a ``*Changes``
TypedDict, so a misspelt attribute is a type error instead of a silent new column.
"""

from __future__ import annotations

from typing import Any, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from comprehend_al.models import DatasetRef


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class ModelRecord(_Record):
    """One model version (``MODEL#<kind>`` / ``<version>``)."""

    kind: str
    version: str
    status: str | None = None
    model_arn: str | None = None
    endpoint_arn: str | None = None
    dataset_version: str | None = None
    dataset_documents: int | None = None
    test_version: str | None = None
    execution_id: str | None = None
    reason: str | None = None
    cleanup: list[str] = Field(default_factory=list)
    training_metrics: dict[str, Any] | None = None
    evaluations: dict[str, dict[str, Any]] = Field(default_factory=dict)  # test-set version → metrics
    selection: dict[str, Any] | None = None
    baseline: dict[str, Any] | None = None  # drift.Profile of its test-job predictions (latest test set)
    promoted_at: str | None = None
    created_at: str = ""
    updated_at: str = ""

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ModelRecord:
        """An item's record; an item only ever updated (never put) takes kind and version from its key."""
        kind = str(item.get("pk", "")).removeprefix("MODEL#")
        return cls.model_validate({"kind": kind, "version": item.get("sk"), **item})


class ModelChanges(TypedDict, total=False):
    status: str
    model_arn: str | None
    endpoint_arn: str | None
    dataset_version: str
    dataset_documents: int
    test_version: str
    execution_id: str
    reason: str
    cleanup: list[str]
    training_metrics: dict[str, Any]
    evaluations: dict[str, dict[str, Any]]
    selection: dict[str, Any]
    baseline: dict[str, Any]
    promoted_at: str


class DatasetRecord(_Record):
    """One immutable dataset version (``DATASET#<kind>`` / ``<version>``)."""

    version: str
    dataset: DatasetRef
    uploads: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)  # ``key@version`` of every object merged into it
    parent: str | None = None
    execution_id: str | None = None
    created_at: str = ""
    # lineage (versions written before batches existed have none: their rows are one legacy base)
    batches: list[str] | None = None  # ids of the batches it holds, in merge order
    base: str | None = None  # a legacy dataset version whose rows precede every batch
    lineage_uri: str | None = None  # per batch, its rows: manifest.json of its parts (lineage.json before)
    index_uri: str | None = (
        None  # index.npy: text hash → part and row of every row (versions stored as parts)
    )
    waiting: dict[str, int] = Field(default_factory=dict)  # labels below the minimum: rows kept, not trained
    without: list[str] = Field(default_factory=list)  # batches left out on purpose (held, dropped)
    reason: str | None = None  # why this version was written (merge, guard, drop)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> DatasetRecord:
        return cls.model_validate({**item, "version": item["sk"]})


class JobRecord(_Record):
    """Test-job bookkeeping (``JOB#<job id>`` / ``JOB``)."""

    job_id: str
    kind: str | None = None
    role: str | None = None
    model_version: str | None = None
    model_arn: str | None = None
    run_version: str | None = None
    test_version: str | None = None
    status: str | None = None
    message: str | None = None
    output_uri: str | None = None


class JobChanges(TypedDict, total=False):
    kind: str
    role: str
    model_version: str
    model_arn: str
    run_version: str
    test_version: str
    status: str
    message: str
    output_uri: str


class BatchRecord(_Record):
    """One upload, feedback flush or review flush and what became of it (``BATCH#<kind>`` / ``<id>``).

    ``status``: ``pending`` (not yet in a dataset version, or readmitted) → ``merged`` (in
    ``dataset_version``, its model not decided yet, or it did no harm) → ``accepted`` (a model trained
    with it was promoted) | ``held`` (the guard flagged it, or a challenger trained with it lost) |
    ``dropped`` (by a user) | ``quarantined`` (invalid). Held and dropped batches are kept, and never
    trained on until readmitted.
    """

    kind: str
    batch_id: str
    status: str
    origin: str  # upload | feedback | review
    source: str  # the key (a file, or the folder of a multi-file upload)
    sources: list[str] = Field(default_factory=list)  # ``key@version`` of each object
    rows: int = 0
    labels: dict[str, int] = Field(default_factory=dict)
    data_uri: str | None = None  # the validated rows, as the kind writes a dataset
    report_uri: str | None = None  # quarantine or guard report
    warnings: list[str] = Field(default_factory=list)  # e.g. a header line skipped
    dataset_version: str | None = None  # the last dataset version it was merged into
    model_version: str | None = None  # the challenger whose outcome settled it
    reason: str | None = None
    guard: dict[str, Any] | None = None  # the guard's figures (or why it did not run)
    history: list[dict[str, Any]] = Field(default_factory=list)  # {at, status, reason, by}
    execution_id: str | None = None
    created_at: str = ""
    updated_at: str = ""

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> BatchRecord:
        kind = str(item.get("pk", "")).removeprefix("BATCH#")
        return cls.model_validate({"kind": kind, "batch_id": item.get("sk"), **item})


class BatchChanges(TypedDict, total=False):
    status: str
    rows: int
    labels: dict[str, int]
    data_uri: str | None
    report_uri: str | None
    warnings: list[str]
    dataset_version: str
    model_version: str
    reason: str
    guard: dict[str, Any]
    history: list[dict[str, Any]]
    execution_id: str


class RollbackRecord(_Record):
    """One rollback (``ROLLBACK#<kind>`` / ``<time>``): what was brought back, what it replaced, who, why."""

    kind: str
    version: str
    replaced: str | None = None
    by: str = ""
    reason: str = ""
    execution_id: str | None = None
    endpoint_arn: str | None = None
    held_batches: list[str] = Field(default_factory=list)
    at: str = ""
