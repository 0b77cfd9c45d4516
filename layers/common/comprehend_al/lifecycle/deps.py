"""What every lifecycle step gets: the adapters (:class:`Deps`) and the helpers the steps share."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from comprehend_al.aws.comprehend import ComprehendClient, ModelOps
from comprehend_al.aws.s3 import Bucket
from comprehend_al.aws.sns import Notifier
from comprehend_al.aws.ssm import ParameterStore
from comprehend_al.aws.stepfunctions import Executions
from comprehend_al.errors import (
    InvalidRequest,
    PollTimedOut,
)
from comprehend_al.kinds import DataKind, data_kinds, spec
from comprehend_al.models import ModelKind
from comprehend_al.observability import emit
from comprehend_al.pointers import Pointers, PrefixedStore, version_of_arn
from comprehend_al.settings import Settings
from comprehend_al.store.registry import Registry

SELECTION_METRIC = "selection-metric"
MIN_IMPROVEMENT = "min-improvement"
SELECTION_CONFIDENCE = "selection-confidence"
MAX_RECALL_DROP = "max-recall-drop"
GUARD_CONFIDENCE = "guard-confidence"
GUARD_TOLERANCE = "guard-tolerance"


@dataclass
class Deps:
    settings: Settings
    bucket: Bucket
    registry: Registry
    params: ParameterStore
    comprehend: ComprehendClient
    notifier: Notifier
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _kinds: dict[ModelKind, DataKind] | None = None
    executions: Executions | None = None  # the reconciler's view of the state machine

    @property
    def kinds(self) -> dict[ModelKind, DataKind]:
        if self._kinds is None:
            self._kinds = data_kinds(self.settings, self.bucket)
        return self._kinds

    def data(self, kind: ModelKind) -> DataKind:
        return self.kinds[kind]

    def ops(self, kind: ModelKind) -> ModelOps:
        return spec(kind).ops(self.comprehend.client, self.settings)

    @property
    def pointers(self) -> Pointers:
        """The active model of each kind, read uncached and written by promotion."""
        store = PrefixedStore(self.settings.parameter_prefix, self.params)
        return Pointers(store, store, line=self.settings.line)

    def param(self, kind: ModelKind | None, name: str) -> str:
        return self.settings.parameter(kind, name)

    def number(self, name: str, default: float) -> float:
        """A run-time threshold from SSM (``/<prefix>/<name>``), or ``default`` when it is not set."""
        value = self.params.get(self.param(None, name))
        try:
            return float(value) if value else default
        except ValueError as error:
            raise InvalidRequest(f"SSM {self.param(None, name)}: {value!r} is not a number") from error


def outcomes_key(deps: Deps, kind: ModelKind, test_version: str, model_version: str) -> str:
    """Where a model's per-document outcomes on one test-set version are kept (beside the test set)."""
    return f"{deps.settings.datasets_prefix}{kind.value}/test/{test_version}/outcomes/{model_version}.json"


def stamp(now: datetime) -> str:
    return now.strftime("%Y%m%d-%H%M%S")


def suffix(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:6]


def next_attempt(attempt: int, deps: Deps, what: str) -> int:
    attempt += 1
    if attempt > deps.settings.max_poll_attempts:
        raise PollTimedOut(f"{what} not ready after {deps.settings.max_poll_attempts} polls")
    return attempt


def champion(kind: ModelKind, deps: Deps) -> tuple[str, str] | None:
    """(model ARN, version) of the active model, from SSM."""
    arn = deps.pointers.model_arn(kind)
    return (arn, version_of_arn(arn)) if arn else None


def count(name: str, kind: ModelKind, value: int = 1) -> None:
    """A count metric of ``kind`` (:func:`comprehend_al.observability.emit`; write the name out)."""
    emit(name, kind.value, value)
