"""The paired test behind promotion: exact binomial tails, McNemar, the bootstrap, the three outcomes."""

from __future__ import annotations

import math

import pytest
from comprehend_al.outcomes import Outcomes, from_sets
from comprehend_al.selection import compare
from comprehend_al.stats import binomial_cdf, mcnemar, paired_bootstrap


def test_binomial_cdf_matches_the_sum_of_exact_terms() -> None:
    n, p = 20, 0.3
    exact = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(6))
    assert binomial_cdf(5, n, p) == pytest.approx(exact, rel=1e-12)
    assert binomial_cdf(-1, n, p) == 0.0 and binomial_cdf(n, n, p) == 1.0


def test_binomial_cdf_stays_exact_far_in_the_tail() -> None:
    """An agreement of 10 in 100 where 80 are expected: the tail is tiny but a number, not 0 or NaN."""
    tail = binomial_cdf(10, 100, 0.8)
    assert 0.0 < tail < 1e-40


def test_mcnemar_counts_the_discordant_documents_and_is_two_sided() -> None:
    challenger = [True] * 10 + [False] * 2 + [True] * 50
    champion = [False] * 10 + [True] * 2 + [True] * 50

    result = mcnemar(challenger, champion)

    assert (result.challenger_only, result.champion_only) == (10, 2)
    assert result.p_value == pytest.approx(2 * sum(math.comb(12, i) for i in range(3)) / 2**12)


def test_mcnemar_of_identical_models_is_one() -> None:
    assert mcnemar([True, False], [True, False]).p_value == 1.0


def test_the_paired_bootstrap_is_seeded_and_holds_the_full_sample_difference() -> None:
    values = [1.0] * 30 + [0.0] * 10

    def difference(indices: object) -> float:
        chosen = range(40) if indices is None else indices
        return sum(values[i] for i in chosen) / 40  # type: ignore[union-attr]

    first = paired_bootstrap(40, difference, confidence=0.9, resamples=300, seed="s")
    again = paired_bootstrap(40, difference, confidence=0.9, resamples=300, seed="s")

    assert first == again and first.difference == 0.75 and first.low <= 0.75 <= first.high


# --- outcomes and the decision ------------------------------------------------------------------------
def classifier(gold: list[str], predicted: list[str]) -> Outcomes:
    return from_sets([[g] for g in gold], [[p] for p in predicted], averaging="macro")


GOLD = ["A"] * 40 + ["B"] * 40 + ["C"] * 40


def decide(challenger: Outcomes, champion: Outcomes, **overrides: float) -> object:
    options = {"min_improvement": 0.0, "confidence": 0.95, "max_recall_drop": 0.1}
    options.update(overrides)
    return compare(challenger, champion, metric="F1Score", resamples=500, seed="t", **options)  # type: ignore[arg-type]


def test_outcomes_recompute_the_metrics_of_the_evaluation() -> None:
    """Macro F1 and accuracy recomputed from per-document outcomes are the evaluation's figures."""
    from comprehend_al.metrics import _multi_class_metrics

    predicted = ["A"] * 35 + ["B"] * 5 + ["B"] * 40 + ["C"] * 30 + ["A"] * 10
    outcomes = classifier(GOLD, predicted)
    metrics = _multi_class_metrics(GOLD, predicted)

    assert outcomes.metric("F1Score") == pytest.approx(metrics.F1Score)
    assert outcomes.metric("Accuracy") == pytest.approx(metrics.Accuracy)
    assert outcomes.metric("Precision") == pytest.approx(metrics.Precision)
    assert Outcomes.from_json(outcomes.to_json()) == outcomes


def test_a_clearly_better_challenger_is_better_beyond_chance() -> None:
    champion = classifier(GOLD, ["A"] * 30 + ["B"] * 10 + ["B"] * 30 + ["C"] * 10 + ["C"] * 30 + ["A"] * 10)
    challenger = classifier(GOLD, list(GOLD))

    result = decide(challenger, champion)

    assert (result.decision, result.outcome) == ("promote", "better")  # type: ignore[attr-defined]
    assert result.test["low"] > 0 and result.test["mcnemar"]["challenger_only"] == 30  # type: ignore[attr-defined]


def test_a_clearly_worse_challenger_is_worse_beyond_chance() -> None:
    champion = classifier(GOLD, list(GOLD))
    challenger = classifier(GOLD, ["A"] * 28 + ["B"] * 12 + ["B"] * 28 + ["C"] * 12 + ["C"] * 28 + ["A"] * 12)

    result = decide(challenger, champion)

    assert (result.decision, result.outcome) == ("reject", "worse")  # type: ignore[attr-defined]
    assert result.test["high"] < 0  # type: ignore[attr-defined]


def test_a_challenger_within_noise_is_indistinguishable() -> None:
    """Two documents apart on 120: neither better nor worse beyond chance; the champion stays."""
    champion = classifier(GOLD, ["B", *GOLD[1:]])
    challenger = classifier(GOLD, ["C", *GOLD[1:40], "A", *GOLD[41:]])

    result = decide(challenger, champion)

    assert (result.decision, result.outcome) == ("reject", "indistinguishable")  # type: ignore[attr-defined]


def test_identical_models_are_a_tie_that_keeps_the_champion() -> None:
    same = classifier(GOLD, list(GOLD))
    assert decide(same, same).outcome == "indistinguishable"  # type: ignore[attr-defined]


def test_a_label_whose_recall_collapses_makes_the_challenger_worse() -> None:
    """Better overall on A and C, but B's recall falls from 1.0 to 0.5: worse, whatever the mean says."""
    champion = classifier(GOLD, ["B"] * 20 + ["A"] * 20 + ["B"] * 40 + ["A"] * 20 + ["C"] * 20)
    challenger = classifier(GOLD, ["A"] * 40 + ["B"] * 20 + ["C"] * 20 + ["C"] * 40)

    result = decide(challenger, champion)

    assert result.outcome == "worse" and "'B'" in result.reason  # type: ignore[attr-defined]
    assert result.test["recall_drops"]["B"]["drop"] == 0.5  # type: ignore[attr-defined]


def test_better_by_less_than_the_required_improvement_is_not_promoted() -> None:
    champion = classifier(GOLD, ["A"] * 30 + ["B"] * 10 + GOLD[40:])
    challenger = classifier(GOLD, list(GOLD))

    result = decide(challenger, champion, min_improvement=0.5)

    assert (result.decision, result.outcome) == ("reject", "indistinguishable")  # type: ignore[attr-defined]


def test_entity_outcomes_are_micro_averaged() -> None:
    from comprehend_al.datasets.entities import Annotation
    from comprehend_al.entity_metrics import entity_outcomes, evaluate_entities

    gold = [Annotation(0, 0, 5, "PERSON"), Annotation(1, 0, 4, "COMPANY"), Annotation(1, 6, 9, "TICKER")]
    predicted = [Annotation(0, 0, 5, "PERSON"), Annotation(1, 0, 4, "PERSON")]

    outcomes = entity_outcomes(gold, predicted, documents=2)
    metrics = evaluate_entities(gold, predicted, documents=2)

    assert outcomes.metric("F1Score") == pytest.approx(metrics.F1Score)
    assert outcomes.metric("Accuracy") == pytest.approx(metrics.F1Score)
    assert outcomes.correct == [True, False]
