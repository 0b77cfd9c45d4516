"""Typed errors: the contract between the Lambda functions and the state machine.

Lambda reports an unhandled exception's class name as the Step Functions error name and ASL matches
names exactly (no inheritance), so every ``ErrorEquals`` in ``statemachine/*.asl.json`` names a class
defined here (a contract test checks it). ``botocore`` ``ClientError`` is translated at the adapter
boundary; no code matches on message text.
"""

from __future__ import annotations

from dataclasses import dataclass


class WorkflowError(Exception):
    """Base class of every error the workflow raises on purpose."""


# --- input data -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """One problem found in an input file: where it is and what is wrong."""

    file: str
    line: int  # 1-based physical line in the file (0 when the problem concerns the whole file)
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.reason}"


class InvalidTrainingData(WorkflowError):
    """An upload failed validation; it is quarantined with a report and the run stops cleanly."""

    def __init__(self, problems: list[Problem], *, limit: int = 20) -> None:
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:limit])
        more = f" (+{len(problems) - limit} more)" if len(problems) > limit else ""
        super().__init__(f"{len(problems)} problem(s): {shown}{more}")


class InvalidRequest(WorkflowError):
    """An API request or step input is malformed (4xx for the HTTP API)."""


# --- Comprehend and other AWS services --------------------------------------------------------------
class ComprehendThrottled(WorkflowError):
    """Comprehend throttled the call (TooManyRequests, Throttling, LimitExceeded on concurrency)."""


class ServiceUnavailable(WorkflowError):
    """A transient failure of an AWS service (5xx, InternalServerException): retried with backoff."""


class ResourceNotFound(WorkflowError):
    """A model, job, endpoint or parameter the workflow refers to does not exist."""


class ResourceInUse(WorkflowError):
    """The resource is busy (e.g. an endpoint being updated, a model still used by an endpoint)."""


class ResourceLimitExceeded(WorkflowError):
    """An account quota (models, endpoints, inference units) would be exceeded."""


class ComprehendRequestRejected(WorkflowError):
    """Comprehend rejected the request as invalid: not retried, the run fails with the reason."""


# --- lifecycle outcomes -----------------------------------------------------------------------------
class TrainingFailed(WorkflowError):
    """Training ended IN_ERROR or STOPPED."""


class JobFailed(WorkflowError):
    """The test-set classification or entity detection job ended FAILED or STOPPED."""


class EndpointFailed(WorkflowError):
    """The endpoint ended FAILED."""


class PollTimedOut(WorkflowError):
    """A bounded poll loop ran out of attempts before the resource was ready."""


class EvaluationFailed(WorkflowError):
    """Job output could not be read or does not match the test set (missing lines, bad JSON)."""


class RunInProgress(WorkflowError):
    """Another execution holds the lock of this model kind."""


# --- the active-learning loop: the HTTP API (/classify, /feedback) and human review -----------------
class InvalidField(InvalidRequest):
    """One field of an API request is missing or wrong (HTTP 400); ``field`` names it for the caller."""

    code = "invalid_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        if code:
            self.code = code


class TextTooLarge(InvalidField):
    """A text exceeds what Comprehend accepts (HTTP 413); ``field`` is the text's field."""

    code = "text_too_large"

    def __init__(self, message: str, *, field: str | None = "text", code: str | None = None) -> None:
        super().__init__(message, field=field, code=code)


class UnknownLabel(InvalidField):
    """A corrected label is not one of the model's labels (and new labels are not allowed)."""

    code = "unknown_label"


class TextNotRetained(InvalidField):
    """Feedback by prediction id for a prediction whose text was not kept: the caller must send the text."""

    code = "text_not_retained"


class UnsupportedLanguage(InvalidField):
    """The text's language has no model (and no fallback line serves it): HTTP 422 (comprehend_al.routing)."""

    code = "unsupported_language"


class PredictionNotFound(ResourceNotFound):
    """No prediction with this id (never made, or expired by its TTL): HTTP 404."""


class ModelNotReady(WorkflowError):
    """No model is active yet (or its endpoint is not serving): HTTP 503."""
