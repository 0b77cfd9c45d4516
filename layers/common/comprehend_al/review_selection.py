"""SelectReview: pick the day's review budget from the buffered uncertain predictions and start their loops.

Runs on a schedule (``ReviewSelectionSchedule``, daily by default). It reads what ``/classify`` buffered
since the last run (:meth:`ReviewGate.buffered`, at most ``MAX_CANDIDATES``, the newest), keeps one
prediction per text (the newest) and only texts never sent to review, ranks them with
:func:`comprehend_al.batch_selection.select` (the strategy in ``/<prefix>/review-strategy``; the same
code ``make bench-al`` measures) and starts one A2I human loop per pick, in rank order, until the day's
budget (``/<prefix>/review-daily-budget``, counted by the gate) is spent. What is not picked is not
reconsidered: the next run starts from this run's time (a day's uncertain predictions compete for that
day's budget; the buffer's items expire after two days), unless a loop failed to start: then the next run
considers the same predictions again (those already sent count as duplicates).

Scores of predictions made by different model versions are aligned on the union of their labels (a
label a model does not have scores 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from comprehend_al.a2i import HumanReview, ReviewItem, loop_name, review_input
from comprehend_al.aws.ssm import CachedParameters
from comprehend_al.batch_selection import select
from comprehend_al.datasets.classification import text_hash
from comprehend_al.errors import WorkflowError
from comprehend_al.observability import logger
from comprehend_al.review import REVIEW_FLOW, Strategy, review_policy
from comprehend_al.settings import LoopSettings, Settings
from comprehend_al.store.predictions import PredictionStore
from comprehend_al.store.review_gate import ReviewGate
from comprehend_al.traffic import Traffic

MAX_CANDIDATES = 5000  # ranked per run: ~10 MB of text vectors, a few seconds of clustering


@dataclass
class SelectReviewDeps:
    settings: Settings
    loop: LoopSettings
    params: CachedParameters
    gate: ReviewGate
    store: PredictionStore
    review: HumanReview
    traffic: Traffic | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


class SelectionResult(BaseModel):
    strategy: str
    buffered: int  # predictions buffered since the last run
    candidates: int  # after dropping repeated texts
    budget_left: int  # of today's budget, before this run
    started: list[str]  # prediction ids sent to review, in rank order
    skipped: dict[str, int]  # duplicate (text already reviewed), review_failed
    reason: str  # selected | nothing_buffered | budget_exhausted | review_not_configured


def _candidates(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One item per text (the newest), oldest first."""
    newest: dict[str, dict[str, Any]] = {}
    for item in items:
        newest[text_hash(str(item["text"]))] = item
    return sorted(newest.values(), key=lambda i: str(i["created_at"]))


def _score_matrix(items: list[dict[str, Any]]) -> tuple[list[str], list[list[float]]]:
    labels = sorted({str(c["Name"]) for item in items for c in item["classes"]})
    column = {name: j for j, name in enumerate(labels)}
    rows = []
    for item in items:
        row = [0.0] * len(labels)
        for c in item["classes"]:
            row[column[str(c["Name"])]] = float(c["Score"])
        rows.append(row)
    return labels, rows


def select_for_review(deps: SelectReviewDeps) -> SelectionResult:
    now = deps.clock()
    chosen = review_policy(deps.params)
    result = SelectionResult(
        strategy=chosen.strategy.value,
        buffered=0,
        candidates=0,
        budget_left=0,
        started=[],
        skipped={},
        reason="",
    )
    flow = deps.params.get(REVIEW_FLOW)
    if not flow:
        return result.model_copy(update={"reason": "review_not_configured"})
    left = max(0, chosen.daily_budget - deps.gate.used_today())
    buffered = deps.gate.buffered(MAX_CANDIDATES)
    items = _candidates(buffered)
    result = result.model_copy(
        update={"buffered": len(buffered), "candidates": len(items), "budget_left": left}
    )
    if not items or left == 0:
        deps.gate.selection_ran(now)
        return result.model_copy(update={"reason": "budget_exhausted" if items else "nothing_buffered"})
    _, scores = _score_matrix(items)
    texts = [str(i["text"]) for i in items]
    batch = select(scores, texts, left, chosen.strategy)
    taken = set(batch)  # a text already reviewed is replaced by the next most uncertain candidate
    ranked = batch + [i for i in select(scores, texts, len(items), Strategy.MARGIN) if i not in taken]
    started: list[str] = []
    skipped = {"duplicate": 0, "review_failed": 0}
    for index in ranked:
        if len(started) >= left:
            break
        outcome = _start(deps, items[index], flow, chosen.daily_budget, now)
        if outcome == "selected":
            started.append(str(items[index]["prediction_id"]))
        elif outcome == "budget_exhausted":
            break
        else:
            skipped[outcome] += 1
    if not skipped["review_failed"]:  # a loop that failed to start stays buffered for the next run
        deps.gate.selection_ran(now)
    logger.info(
        "review selection",
        extra={
            "strategy": chosen.strategy.value,
            "candidates": len(items),
            "started": len(started),
            **skipped,
        },
    )
    return result.model_copy(update={"started": started, "skipped": skipped, "reason": "selected"})


def _start(deps: SelectReviewDeps, item: dict[str, Any], flow: str, budget: int, now: datetime) -> str:
    """Claim the text and a unit of budget, start the loop, keep the review item; the outcome's name."""
    prediction_id, text = str(item["prediction_id"]), str(item["text"])
    digest = text_hash(text)
    if not deps.gate.claim_text(digest, prediction_id):
        return "duplicate"
    if not deps.gate.take_budget(budget):
        deps.gate.release_text(digest, prediction_id)
        return "budget_exhausted"
    name = loop_name(prediction_id)
    classes = [(str(c["Name"]), float(c["Score"])) for c in item["classes"]]
    version = item.get("model_version")
    content = review_input(
        [ReviewItem(prediction_id, text, tuple(classes))],
        [n for n, _ in classes],
        multi_label=deps.settings.multi_label,
        model_version=version,
        line=str(item.get("line") or ""),
    )
    try:
        deps.review.start(name, flow, content)
    except WorkflowError as error:
        logger.error(
            "human loop not started", extra={"error": type(error).__name__, "prediction_id": prediction_id}
        )
        deps.gate.release_text(digest, prediction_id)
        deps.gate.return_budget()
        return "review_failed"
    deps.store.put(
        {
            "pk": f"PRED#{prediction_id}",
            "sk": "REVIEW",
            "text": text,
            "labels": sorted(n for n, _ in classes),
            "human_loop_name": name,
            "created_at": now.isoformat(),
            "expires_at": int((now + timedelta(days=deps.loop.review_ttl_days)).timestamp()),
        }
    )
    if deps.traffic:
        deps.traffic.review_opened(prediction_id, now, deps.loop.review_ttl_days)
    return "selected"
