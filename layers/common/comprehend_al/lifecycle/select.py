"""ModelSelection: the challenger against the champion on the configured metric."""

from __future__ import annotations

from typing import Any

from comprehend_al.kinds import spec
from comprehend_al.lifecycle.deps import (
    Deps,
)
from comprehend_al.lifecycle.evaluate import selection_config
from comprehend_al.models import ClassificationMetrics, EntityMetrics, ModelKind
from comprehend_al.observability import logger
from comprehend_al.selection import select
from comprehend_al.state import (
    Evaluation,
    Run,
    SelectionState,
)


def _metrics_model(kind: ModelKind, values: dict[str, Any]) -> ClassificationMetrics | EntityMetrics:
    return spec(kind).metrics.model_validate(values)


def model_selection(run: Run, evaluation: Evaluation, deps: Deps) -> SelectionState:
    metric, min_improvement = selection_config(run.kind, deps)
    challenger = _metrics_model(run.kind, evaluation.challenger)
    champion = _metrics_model(run.kind, evaluation.champion) if evaluation.champion else None
    selection = select(challenger, champion, metric=metric, min_improvement=min_improvement)
    state = SelectionState(
        decision=selection.decision,
        reason=selection.reason,
        metric=metric.value,
        challenger_value=selection.challenger_value,
        champion_value=selection.champion_value,
    )
    deps.registry.update_model(run.kind, run.version, selection=state.model_dump(mode="json"))
    logger.info(
        "selection", extra={"kind": run.kind.value, "model_version": run.version, **state.model_dump()}
    )
    return state
