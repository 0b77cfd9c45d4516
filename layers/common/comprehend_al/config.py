"""Settings: read once from the environment (names, prefixes and static choices only).

Values that change at run time (active model and endpoint ARNs, the selection metric) live in SSM
Parameter Store under ``PARAMETER_PREFIX``.
"""

from __future__ import annotations

import os
from enum import StrEnum
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from comprehend_al.models import ClassifierMode, ModelKind, SelectionMetric


class DeploymentStrategy(StrEnum):
    NEW_ENDPOINT = "NEW_ENDPOINT"  # create a new endpoint, switch SSM, delete the old one
    UPDATE_IN_PLACE = "UPDATE_IN_PLACE"  # UpdateEndpoint(DesiredModelArn) on the active endpoint


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
    min_docs_per_label: int = Field(10, ge=1, alias="MIN_DOCS_PER_LABEL")
    min_docs_total: int = Field(50, ge=1, alias="MIN_DOCS_TOTAL")
    # longer than the state machine's TimeoutSeconds (24 h): a live run never loses its lock to expiry
    lock_seconds: int = Field(25 * 3600, ge=60, alias="LOCK_SECONDS")

    # S3 layout: one meaning per prefix.
    upload_prefix: str = "train/new/"
    processed_prefix: str = "train/processed/"
    test_prefix: str = "test/"
    datasets_prefix: str = "datasets/"
    quarantine_prefix: str = "quarantine/"
    output_prefix: str = "output/"

    @property
    def multi_label(self) -> bool:
        return self.classifier_mode is ClassifierMode.MULTI_LABEL

    def model_name(self, kind: ModelKind) -> str:
        return f"{self.resource_prefix}-{kind.value.replace('_', '-')}"

    def parameter(self, kind: ModelKind | None, name: str) -> str:
        base = self.parameter_prefix.rstrip("/")
        return f"{base}/{kind.value}/{name}" if kind else f"{base}/{name}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process (cached: the environment of a Lambda does not change)."""
    return Settings.model_validate(dict(os.environ))
