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
        return Pointers(store, store)

    def param(self, kind: ModelKind | None, name: str) -> str:
        return self.settings.parameter(kind, name)


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
