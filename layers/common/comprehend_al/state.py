"""The accumulated state of one lifecycle run, as the state machine carries it between steps.

Each step reads the parts it needs and returns one part; the ASL puts it under its own key
(``ResultPath``), so the state of a run grows: run → model → test → evaluation → selection → endpoint →
promotion. A contract test parses the sample events in ``events/`` into these models.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from comprehend_al.models import DatasetRef, ModelKind


class StepModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Run(StepModel):
    kind: ModelKind
    version: str  # model version name (VersionName)
    model_name: str
    dataset: DatasetRef
    execution_id: str
    line: str = ""  # the model line (comprehend_al.lines): "" is the default line


class ModelState(StepModel):
    model_arn: str
    version: str
    status: str
    done: bool = False
    attempt: int = 0
    message: str = ""


class TestJob(StepModel):
    role: Literal["challenger", "champion"]
    model_arn: str
    version: str
    job_id: str
    status: str = "SUBMITTED"
    output_uri: str = ""


class TestState(StepModel):
    test_version: str
    jobs: list[TestJob]
    done: bool = False
    attempt: int = 0


class Evaluation(StepModel):
    test_version: str
    metric: str
    challenger: dict[str, Any]
    champion: dict[str, Any] | None = None
    champion_version: str | None = None


class SelectionState(StepModel):
    decision: Literal["promote", "reject"]
    reason: str
    metric: str
    challenger_value: float | None = None
    champion_value: float | None = None
    # first | better | worse (its new batches are held) | indistinguishable (they stay) | invalid
    outcome: str = "indistinguishable"
    test: dict[str, Any] | None = None  # the paired test's figures


class EndpointState(StepModel):
    endpoint_arn: str
    model_arn: str
    strategy: str
    created: bool  # this run created the endpoint (so a failure must delete it)
    previous_endpoint_arn: str | None = None
    previous_model_arn: str | None = None
    status: str = "CREATING"
    done: bool = False
    attempt: int = 0


class Promotion(StepModel):
    model_arn: str
    endpoint_arn: str
    previous_model_arn: str | None = None
    previous_endpoint_arn: str | None = None
    endpoint_to_delete: str | None = None


class StepError(StepModel):
    """What a ``Catch`` puts at ``$.error``: the error name and Lambda's JSON-encoded cause."""

    Error: str = "Unknown"
    Cause: str = ""

    def reason(self) -> str:
        import json

        try:
            cause = json.loads(self.Cause)
            message = cause.get("errorMessage") or cause.get("Cause") or self.Cause
        except (ValueError, AttributeError):
            message = self.Cause
        return f"{self.Error}: {message}"[:2000]


class RunState(StepModel):
    """The whole state of a run, as FinishRun and HandleFailure receive it."""

    run: Run
    model: ModelState | None = None
    test: TestState | None = None
    evaluation: Evaluation | None = None
    selection: SelectionState | None = None
    endpoint: EndpointState | None = None
    promotion: Promotion | None = None
    cleanup: dict[str, Any] | None = None
    outcome: str | None = None
    error: StepError | None = None
    cleanup_error: StepError | None = None


class PrepareResult(StepModel):
    runs: list[Run] = Field(default_factory=list)
    outcomes: list[dict[str, Any]] = Field(default_factory=list)  # per kind: what happened and why

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_runs(self) -> bool:
        """For the state machine's Choice (JSONPath cannot test an empty list without an error)."""
        return bool(self.runs)


class PreparationFailure(StepModel):
    """What HandleFailure gets when PrepareTrainingData failed for good (no run state exists yet)."""

    execution_id: str
    error: dict[str, Any]


class RunOutcome(StepModel):
    kind: ModelKind
    version: str
    outcome: Literal["promoted", "rejected", "failed"]
    reason: str = ""


# --- operations a user starts: rollback, readmit / drop a batch ------------------------------------------
class RollbackRequest(StepModel):
    """``{"rollback": {...}}``, the input of ``make rollback`` (who and why are the caller's own words)."""

    kind: ModelKind
    version: str
    by: str = "unknown"
    reason: str = ""
    hold_batches_after: bool = False  # hold every batch the version rolled back to was not trained on
    line: str = ""  # the model line (comprehend_al.lines)


class RollbackStart(StepModel):
    run: Run  # the version brought back, as a run (its dataset version, its model name)
    model: ModelState
    request: RollbackRequest


class RollbackState(StepModel):
    """The state of a rollback as FinishRollback (or, failed, HandleFailure) gets it."""

    run: Run
    model: ModelState
    request: RollbackRequest
    endpoint: EndpointState | None = None
    promotion: Promotion | None = None
    cleanup: dict[str, Any] | None = None
    error: StepError | None = None
    cleanup_error: StepError | None = None


class RollbackOutcome(StepModel):
    kind: ModelKind
    version: str
    outcome: Literal["rolled_back", "rollback_failed"]
    reason: str = ""


class BatchRequest(StepModel):
    """``{"batch": {...}}``: readmit a held (or dropped) batch, or drop one from the data."""

    kind: ModelKind
    batch_id: str
    action: Literal["readmit", "drop"]
    by: str = "unknown"
    reason: str = ""
    line: str = ""  # the model line (comprehend_al.lines)


class BatchChange(StepModel):
    kind: ModelKind
    batch_id: str
    action: str
    status: str
    dataset: str | None = None  # the dataset version written without a dropped batch
