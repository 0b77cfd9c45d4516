"""What the loop records about live traffic for monitoring: counters per prediction, agreement per label.

``/classify`` adds each prediction to its model version's hourly counters (label, top score, text length,
tokens the model's test set never showed: :mod:`comprehend_al.drift`) and marks a prediction sent to review
as open; a review answer or a correction by prediction id adds whether the human agreed with the model
(live accuracy). None of it keeps text, and none of it may fail the request that records it: a failed
counter is logged and the answer goes out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from comprehend_al.drift import Profile, confidence_bin, length_bin, oov_count, tokens
from comprehend_al.errors import WorkflowError
from comprehend_al.models import ModelKind
from comprehend_al.observability import emit, logger
from comprehend_al.store.live_stats import LiveStats
from comprehend_al.store.registry import RegistryBase

CLASSIFIER = ModelKind.CLASSIFIER


def predicted(scores: Iterable[tuple[str, float]], *, multi_label: bool) -> tuple[str, ...]:
    """The label(s) a model's scores predict: the top one, or every one >= 0.5 for a multi-label model."""
    ranked = sorted(scores, key=lambda s: (-s[1], s[0]))
    if multi_label:
        return tuple(sorted(name for name, score in ranked if score >= 0.5))
    return (ranked[0][0],) if ranked else ()


@dataclass
class Traffic:
    """Records live traffic in the predictions table (``stats``); vocabularies come from the registry."""

    stats: LiveStats
    registry: RegistryBase | None = None
    _vocabularies: dict[str, set[str]] = field(default_factory=dict)

    def vocabulary(self, version: str) -> set[str]:
        """The baseline vocabulary of ``version`` (empty, and the OOV counters skipped, without one)."""
        if version not in self._vocabularies:
            record = self.registry.model(CLASSIFIER, version) if self.registry else None
            baseline = (record.baseline if record else None) or {}
            self._vocabularies[version] = set(Profile.model_validate(baseline).vocabulary)
        return self._vocabularies[version]

    def classified(self, version: str | None, label: str, score: float, text: str, now: datetime) -> None:
        if version is None:
            return
        counters = {
            "predictions": 1,
            f"label:{label}": 1,
            f"confidence:{confidence_bin(score)}": 1,
            f"length:{length_bin(len(text))}": 1,
            "characters": len(text),
        }
        self._safely("prediction counters", lambda: self._classified(version, counters, text, now))

    def _classified(self, version: str, counters: dict[str, int], text: str, now: datetime) -> None:
        vocabulary = self.vocabulary(version)
        if vocabulary:
            words = tokens(text)
            counters.update(tokens=len(words), oov_tokens=oov_count(words, vocabulary))
        self.stats.record_prediction(CLASSIFIER.value, version, now, counters)

    def labelled(
        self, version: str | None, model_labels: Sequence[str], human_labels: Sequence[str], now: datetime
    ) -> None:
        """A human labelled a prediction of ``version``: count it and whether it agreed with the model."""
        if not version or not model_labels:
            return
        agreed = sorted(model_labels) == sorted(human_labels)
        self._safely(
            "label agreement", lambda: self.stats.record_label(CLASSIFIER.value, version, now, agreed=agreed)
        )
        emit("HumanLabels", CLASSIFIER.value)
        emit("HumanLabelsAgreeing", CLASSIFIER.value, int(agreed))

    def review_opened(self, prediction_id: str, now: datetime, ttl_days: int) -> None:
        self._safely("open review", lambda: self.stats.open_review(prediction_id, now, ttl_days))

    def review_closed(self, prediction_id: str) -> None:
        self._safely("close review", lambda: self.stats.close_review(prediction_id))

    @staticmethod
    def _safely(what: str, action: Callable[[], Any]) -> None:
        try:
            action()
        except WorkflowError as error:
            logger.warning("monitoring record not written", extra={"what": what, "error": str(error)})
