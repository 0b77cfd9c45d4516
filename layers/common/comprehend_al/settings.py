"""Settings: the one model of the environment, read once per process (names, prefixes, static choices).

Every function gets the stack's common variables (``Settings``); the loop's functions, the analyze function
and the monitor add their own part (``Settings.loop``, ``.analysis``, ``.monitor``), read from the same
environment.
Values that change at run time (active model and endpoint ARNs, the selection metric, review tunables)
live in SSM Parameter Store under ``PARAMETER_PREFIX``, never here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from comprehend_al.models import ClassifierMode, ModelKind, SelectionMetric


class DeploymentStrategy(StrEnum):
    NEW_ENDPOINT = "NEW_ENDPOINT"  # create a new endpoint, switch SSM, delete the old one
    UPDATE_IN_PLACE = "UPDATE_IN_PLACE"  # UpdateEndpoint(DesiredModelArn) on the active endpoint


class LoopSettings(BaseModel):
    """The loop's functions (classify, feedback, review, flush): tables and privacy switches."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    predictions_table: str = Field("", alias="PREDICTIONS_TABLE")
    label_buffer_table: str = Field("", alias="LABEL_BUFFER_TABLE")
    store_prediction_text: bool = Field(False, alias="STORE_PREDICTION_TEXT")
    allow_new_labels: bool = Field(False, alias="ALLOW_NEW_LABELS")
    prediction_ttl_days: int = Field(30, ge=1, alias="PREDICTION_TTL_DAYS")
    review_ttl_days: int = Field(30, ge=1, alias="REVIEW_TTL_DAYS")
    parameter_max_age: int = Field(60, ge=0, alias="PARAMETER_MAX_AGE")
    flush_lock_seconds: int = Field(300, ge=10, alias="FLUSH_LOCK_SECONDS")


class AnalysisSettings(BaseModel):
    """The analyze function: where and whether results are kept."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    results_table: str = Field("", alias="ANALYSIS_RESULTS_TABLE")
    store_results: bool = Field(False, alias="STORE_ANALYSIS_RESULTS")
    store_text: bool = Field(False, alias="STORE_ANALYSIS_TEXT")
    retention_days: int = Field(30, ge=1, alias="ANALYSIS_RETENTION_DAYS")


class MonitorSettings(BaseModel):
    """The monitor (drift, live accuracy, backlog, endpoint cost): its windows and thresholds."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    drift_window_hours: int = Field(24, ge=1, alias="DRIFT_WINDOW_HOURS")
    drift_min_predictions: int = Field(50, ge=1, alias="DRIFT_MIN_PREDICTIONS")
    low_confidence: float = Field(0.5, gt=0.0, le=1.0, alias="LOW_CONFIDENCE_THRESHOLD")
    accuracy_window_hours: int = Field(168, ge=1, alias="LIVE_ACCURACY_WINDOW_HOURS")


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    data_bucket: str = Field(alias="DATA_BUCKET")
    registry_table: str = Field(alias="REGISTRY_TABLE")
    topic_arn: str = Field("", alias="NOTIFICATION_TOPIC_ARN")
    parameter_prefix: str = Field(alias="PARAMETER_PREFIX")  # e.g. /comprehend-al
    comprehend_role_arn: str = Field("", alias="COMPREHEND_DATA_ACCESS_ROLE_ARN")
    resource_prefix: str = Field("comprehend-al", alias="RESOURCE_PREFIX")  # model / endpoint names
    classifier_mode: ClassifierMode = Field(ClassifierMode.MULTI_CLASS, alias="CLASSIFIER_MODE")
    label_delimiter: str = Field("|", alias="LABEL_DELIMITER")
    language_code: str = Field("en", alias="LANGUAGE_CODE")
    inference_units: int = Field(1, ge=1, le=10, alias="INFERENCE_UNITS")
    deployment_strategy: DeploymentStrategy = Field(
        DeploymentStrategy.NEW_ENDPOINT, alias="DEPLOYMENT_STRATEGY"
    )
    default_selection_metric: SelectionMetric = Field(SelectionMetric.F1_SCORE, alias="SELECTION_METRIC")
    min_improvement: float = Field(0.0, ge=0.0, le=1.0, alias="MIN_IMPROVEMENT")
    max_poll_attempts: int = Field(240, ge=1, alias="MAX_POLL_ATTEMPTS")
    # promotion and the guard: defaults of the SSM parameters of the same names (read at run time)
    selection_confidence: float = Field(0.95, ge=0.5, lt=1.0, alias="SELECTION_CONFIDENCE")
    max_recall_drop: float = Field(0.10, ge=0.0, le=1.0, alias="MAX_RECALL_DROP")
    bootstrap_resamples: int = Field(1000, ge=100, alias="BOOTSTRAP_RESAMPLES")
    guard_confidence: float = Field(0.999, ge=0.5, lt=1.0, alias="GUARD_CONFIDENCE")
    guard_tolerance: float = Field(0.25, ge=0.0, le=1.0, alias="GUARD_TOLERANCE")
    guard_sample_size: int = Field(200, ge=10, le=2000, alias="GUARD_SAMPLE_SIZE")
    min_docs_per_label: int = Field(10, ge=1, alias="MIN_DOCS_PER_LABEL")
    min_docs_total: int = Field(50, ge=1, alias="MIN_DOCS_TOTAL")
    # longer than the state machine's TimeoutSeconds (24 h): a live run never loses its lock to expiry
    lock_seconds: int = Field(25 * 3600, ge=60, alias="LOCK_SECONDS")
    state_machine_arn: str = Field("", alias="STATE_MACHINE_ARN")  # the reconciler's only
    # model lines (comprehend_al.lines): the languages that may have their own model (Comprehend custom
    # classification's), whether /classify and /analyze route by detected language, where a text in a
    # language without a model goes ("": nowhere, answered 422; "default": the default line; or a line)
    languages: str = Field("en,es,fr,de,it,pt", alias="LANGUAGES")
    language_routing: bool = Field(False, alias="LANGUAGE_ROUTING")
    fallback_line: str = Field("", alias="FALLBACK_LINE")
    route_min_score: float = Field(0.01, ge=0.0, le=1.0, alias="ROUTE_MIN_SCORE")
    taxonomy: str = Field("", pattern="^(|nested|flat)$", alias="TAXONOMY")  # PARENT/CHILD labels
    line: str = ""  # set by comprehend_al.lines.line_settings, never from the environment

    # the parts of the functions that need more (read from the same environment by ``from_env``)
    loop: LoopSettings = Field(default_factory=LoopSettings)
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)

    # S3 layout: one meaning per prefix.
    upload_prefix: str = "train/new/"
    processed_prefix: str = "train/processed/"
    test_prefix: str = "test/"
    datasets_prefix: str = "datasets/"
    quarantine_prefix: str = "quarantine/"
    output_prefix: str = "output/"

    @property
    def language_lines(self) -> list[str]:
        return [code.strip() for code in self.languages.split(",") if code.strip()]

    @property
    def multi_label(self) -> bool:
        return self.classifier_mode is ClassifierMode.MULTI_LABEL

    def model_name(self, kind: ModelKind) -> str:
        line = f"-{self.line}" if self.line else ""  # a model line's (comprehend_al.lines)
        return f"{self.resource_prefix}-{kind.value.replace('_', '-')}{line}"

    def parameter(self, kind: ModelKind | None, name: str) -> str:
        base = self.parameter_prefix.rstrip("/")
        return f"{base}/{kind.value}/{name}" if kind else f"{base}/{name}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings of this process's environment (every part from the same variables)."""
        env = dict(os.environ if environ is None else environ)
        return cls.model_validate({**env, "loop": env, "analysis": env, "monitor": env})
