"""ModelSelection: the challenger against the champion, paired on the same test documents.

Both models' per-document outcomes on the test-set version (kept by EvaluateModel) are compared with
:func:`comprehend_al.selection.compare` at the confidence in SSM (``selection-confidence``) with the
maximum recall drop per label (``max-recall-drop``). A champion whose outcomes were never kept falls back
to the comparison of the two values (:func:`comprehend_al.selection.select`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from comprehend_al.errors import ResourceNotFound
from comprehend_al.kinds import spec
from comprehend_al.lifecycle.deps import (
    MAX_RECALL_DROP,
    SELECTION_CONFIDENCE,
    Deps,
    outcomes_key,
)
from comprehend_al.lifecycle.evaluate import selection_config
from comprehend_al.models import ClassificationMetrics, EntityMetrics, ModelKind
from comprehend_al.observability import logger
from comprehend_al.outcomes import Outcomes
from comprehend_al.selection import compare, select
from comprehend_al.state import (
    Evaluation,
    Run,
    SelectionState,
)


def _metrics_model(kind: ModelKind, values: dict[str, Any]) -> ClassificationMetrics | EntityMetrics:
    return spec(kind).metrics.model_validate(values)


def _outcomes(run: Run, test_version: str, version: str, deps: Deps) -> Outcomes | None:
    try:
        raw = deps.bucket.get(outcomes_key(deps, run.kind, test_version, version))
    except ResourceNotFound:
        return None
    return Outcomes.from_json(json.loads(raw))


def _evidence(*outcomes: Outcomes) -> str:
    """The bootstrap's seed: a digest of the outcomes compared, so the same evidence gives the same
    decision (a rerun, a retried step, a test) whatever the run is called."""
    digest = hashlib.sha256()
    for item in outcomes:
        digest.update(json.dumps(item.to_json(), sort_keys=True).encode())
    return digest.hexdigest()


def model_selection(run: Run, evaluation: Evaluation, deps: Deps) -> SelectionState:
    metric, min_improvement = selection_config(run.kind, deps)
    challenger = _metrics_model(run.kind, evaluation.challenger)
    champion = _metrics_model(run.kind, evaluation.champion) if evaluation.champion else None
    selection = select(challenger, champion, metric=metric, min_improvement=min_improvement)
    if champion is not None and evaluation.champion_version and selection.outcome != "invalid":
        new = _outcomes(run, evaluation.test_version, run.version, deps)
        old = _outcomes(run, evaluation.test_version, evaluation.champion_version, deps)
        if new is not None and old is not None and len(new) == len(old):
            selection = compare(
                new,
                old,
                metric=metric,
                min_improvement=min_improvement,
                confidence=deps.number(SELECTION_CONFIDENCE, deps.settings.selection_confidence),
                max_recall_drop=deps.number(MAX_RECALL_DROP, deps.settings.max_recall_drop),
                resamples=deps.settings.bootstrap_resamples,
                seed=_evidence(new, old),
            )
    state = SelectionState(
        decision=selection.decision,
        reason=selection.reason,
        metric=metric.value,
        challenger_value=selection.challenger_value,
        champion_value=selection.champion_value,
        outcome=selection.outcome,
        test=selection.test,
    )
    deps.registry.update_model(run.kind, run.version, selection=state.model_dump(mode="json"))
    logger.info(
        "selection",
        extra={
            "kind": run.kind.value,
            "model_version": run.version,
            "decision": state.decision,
            "outcome": state.outcome,
            "reason": state.reason,
        },
    )
    return state
