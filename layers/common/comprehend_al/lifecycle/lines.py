"""PrepareTrainingData and GuardBatches over every model line (:mod:`comprehend_al.lines`).

Each line is prepared exactly as the single line always was (its own uploads, lock, batches and dataset);
the runs come back tagged with their line, so that the state machine's Map runs one lifecycle per
(kind, line) and every later step works on its run's line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from comprehend_al.lifecycle.deps import Deps
from comprehend_al.lifecycle.finish import preparation_failed
from comprehend_al.lifecycle.guard import guard_batches
from comprehend_al.lifecycle.prepare import prepare_training_data
from comprehend_al.lines import DEFAULT, merge_results, pending_lines, with_line
from comprehend_al.state import PrepareResult


def prepare_lines(event: dict[str, Any], execution_id: str, deps: Deps, *, round_: int = 0) -> PrepareResult:
    """The default line, then each line with pending uploads (``train/new/<line>/``), in name order."""
    from comprehend_al.hierarchy import split_taxonomy_uploads

    split_taxonomy_uploads(deps)
    pending = list(deps.bucket.list(deps.settings.upload_prefix))
    parts = []
    for line in [DEFAULT, *pending_lines(deps.settings, pending)]:
        part = prepare_training_data(event, execution_id, with_line(deps, line), round_=round_)
        parts.append((line, part))
    return merge_results(parts)


def guard_lines(prepared: PrepareResult, execution_id: str, deps_for: Callable[[str], Deps]) -> PrepareResult:
    """:func:`guard_batches` of each line's runs with that line's dependencies."""
    result = PrepareResult(outcomes=list(prepared.outcomes))
    for line in sorted({run.line for run in prepared.runs}):
        part = guard_batches(
            PrepareResult(runs=[r for r in prepared.runs if r.line == line]), execution_id, deps_for(line)
        )
        result.outcomes.extend(part.outcomes)
        result.runs.extend(run.model_copy(update={"line": line}) for run in part.runs)
    return result


def preparation_failed_lines(
    execution_id: str, error: dict[str, Any], deps: Deps, deps_for: Callable[[str], Deps]
) -> dict[str, Any]:
    """:func:`preparation_failed`, after releasing what this execution holds on every line (a release
    by a non-holder does nothing)."""
    pending = list(deps.bucket.list(deps.settings.upload_prefix))
    for line in {*deps.settings.language_lines, *pending_lines(deps.settings, pending)}:
        line_deps = deps_for(line)
        for kind in line_deps.kinds:
            line_deps.registry.release_lock(kind, execution_id)
    return preparation_failed(execution_id, error, deps)
