"""Pydantic models shared by the layer, the handlers and the state machine's state.

The state of one lifecycle run (one model kind) accumulates in the Step Functions state as JSON;
each handler parses the part it needs into these models and returns ``model_dump(mode="json")``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ModelKind(StrEnum):
    CLASSIFIER = "classifier"
    ENTITY_RECOGNIZER = "entity_recognizer"


class ClassifierMode(StrEnum):
    MULTI_CLASS = "MULTI_CLASS"
    MULTI_LABEL = "MULTI_LABEL"


class SelectionMetric(StrEnum):
    ACCURACY = "Accuracy"
    PRECISION = "Precision"
    RECALL = "Recall"
    F1_SCORE = "F1Score"


class ModelStatus(StrEnum):
    """Status of a model version in the registry."""

    TRAINING = "training"
    TRAINED = "trained"
    REJECTED = "rejected"
    ACTIVE = "active"
    RETIRED = "retired"
    FAILED = "failed"


class BatchStatus(StrEnum):
    """What became of one batch of labelled data (see :class:`~comprehend_al.store.records.BatchRecord`)."""

    PENDING = "pending"
    MERGED = "merged"
    ACCEPTED = "accepted"
    HELD = "held"
    DROPPED = "dropped"
    QUARANTINED = "quarantined"

    @property
    def trains(self) -> bool:
        """Its rows go into the next dataset version."""
        return self in {BatchStatus.PENDING, BatchStatus.MERGED, BatchStatus.ACCEPTED}


class BatchOrigin(StrEnum):
    UPLOAD = "upload"
    FEEDBACK = "feedback"  # a flush of the label buffer: user corrections and reviewed labels
    REVIEW = "review"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ClassificationMetrics(Frozen):
    """Metrics of a classifier on a test set (names follow Comprehend's EvaluationMetrics)."""

    Accuracy: float
    Precision: float  # macro
    Recall: float  # macro
    F1Score: float  # macro
    MicroPrecision: float
    MicroRecall: float
    MicroF1Score: float
    HammingLoss: float | None = None  # multi-label only
    documents: int
    # confusion[gold][predicted] = count (multi-class); per-label counts for multi-label
    confusion_matrix: dict[str, dict[str, int]] = Field(default_factory=dict)
    labels: list[str] = Field(default_factory=list)


class EntityTypeMetrics(Frozen):
    Precision: float
    Recall: float
    F1Score: float
    support: int  # gold entities of this type
    predicted: int
    true_positives: int


class EntityMetrics(Frozen):
    """Entity-level metrics (exact span and type match), overall (micro) and per type."""

    Precision: float
    Recall: float
    F1Score: float
    documents: int
    per_type: dict[str, EntityTypeMetrics] = Field(default_factory=dict)

    @property
    def Accuracy(self) -> float:  # selection by metric name: entities have no accuracy
        return self.F1Score


class DatasetRef(Frozen):
    """An immutable, merged dataset version and the fixed test set it is evaluated on."""

    kind: ModelKind
    version: str
    train_uri: str  # classifier: LABEL,text CSV; entities: documents.txt
    test_uri: str  # fixed test set (classifier CSV or entity documents)
    test_version: str  # S3 version id (or ETag) of the test set object(s)
    train_annotations_uri: str | None = None  # entities only
    test_annotations_uri: str | None = None  # entities only
    documents: int
    label_counts: dict[str, int] = Field(default_factory=dict)  # per label (classes) or per entity type
    added: int = 0  # rows new in this version
    duplicates_dropped: int = 0
    conflicts: int = 0
    # labels below the minimum (or absent from the test set): their documents wait, kept in the lineage but
    # not in the training file; ``label_counts`` counts what is trained
    waiting: dict[str, int] = Field(default_factory=dict)


class Lifecycle(StrEnum):
    PROMOTED = "promoted"
    REJECTED = "rejected"
    FAILED = "failed"


SelectionDecision = Literal["promote", "reject"]
