"""The drift measures (pure functions): PSI, Jensen-Shannon, the baseline profile, live counters added up."""

from __future__ import annotations

import pytest
from comprehend_al.drift import (
    CONFIDENCE_BINS,
    Profile,
    add,
    baseline_profile,
    compare,
    jensen_shannon,
    length_bin,
    psi,
)
from comprehend_al.traffic import predicted


def _profile(labels: dict[str, int], confident: float = 0.9) -> Profile:
    confidence = [0] * CONFIDENCE_BINS
    confidence[int(confident * CONFIDENCE_BINS)] = sum(labels.values())
    return Profile(predictions=sum(labels.values()), labels=labels, confidence=confidence)


def test_identical_distributions_do_not_drift() -> None:
    assert psi([10, 20, 30], [10, 20, 30]) == pytest.approx(0.0)
    assert jensen_shannon([1, 2, 3], [2, 4, 6]) == pytest.approx(0.0)


def test_jensen_shannon_is_one_for_disjoint_distributions() -> None:
    assert jensen_shannon([5, 0], [0, 5]) == pytest.approx(1.0)


def test_one_label_tripled_crosses_the_default_threshold_and_is_named() -> None:
    # Given a baseline of five balanced labels, and live traffic where A's share is three times larger
    baseline = _profile(dict.fromkeys("ABCDE", 200))
    live = _profile({"A": 300, "B": 100, "C": 100, "D": 100, "E": 100})
    # When they are compared
    report = compare(baseline, live)
    # Then the label PSI is over 0.2 and A moved most
    assert report.label_psi > 0.2 and report.drift_score == report.label_psi
    assert report.moved[0] == "A" and report.labels[0].label == "A"


def test_a_label_the_baseline_never_predicted_counts_without_dividing_by_zero() -> None:
    report = compare(_profile({"A": 100}), _profile({"A": 50, "NEW": 50}))
    assert report.label_psi > 0.5 and "NEW" in report.moved and 0 < report.label_js <= 1


def test_confidence_drop_shows_in_the_confidence_psi_and_the_low_confidence_rate() -> None:
    report = compare(_profile({"A": 100}, confident=0.95), _profile({"A": 100}, confident=0.3))
    assert report.confidence_psi > 1 and report.low_confidence_rate == 1.0
    assert report.baseline_low_confidence_rate == 0.0


def test_too_few_live_predictions_are_not_enough() -> None:
    assert compare(_profile({"A": 100}), _profile({"A": 10}), min_predictions=50).enough is False


def test_the_baseline_vocabulary_holds_words_seen_in_two_documents_and_counts_the_rest_as_oov() -> None:
    # Given three test documents where "parcel" appears in two and "zebra" in one
    profile = baseline_profile(
        [("A", 0.9), ("A", 0.8), ("B", 0.7)], ["my parcel", "the parcel is late", "a zebra"]
    )
    # Then the vocabulary is the words of two documents, and the OOV share counts the others
    assert profile.vocabulary == ["parcel"]
    assert profile.tokens == 8 and profile.oov_tokens == 6  # my the is late a zebra
    assert profile.labels == {"A": 2, "B": 1} and profile.length[length_bin(len("my parcel"))] >= 1


def test_live_counters_add_up_into_one_profile() -> None:
    hours = [
        {"predictions": 2, "label:A": 2, "confidence:19": 2, "length:1": 2, "characters": 40},
        {"predictions": 1, "label:B": 1, "confidence:3": 1, "length:2": 1, "characters": 50, "tokens": 9},
    ]
    total = add(hours)
    assert total.predictions == 3 and total.labels == {"A": 2, "B": 1}
    assert total.confidence[19] == 2 and total.confidence[3] == 1 and total.characters == 90
    assert total.mean_length == 30


def test_predicted_labels_are_the_top_one_or_every_one_over_half() -> None:
    scores = [("B", 0.2), ("A", 0.7), ("C", 0.6)]
    assert predicted(scores, multi_label=False) == ("A",)
    assert predicted(scores, multi_label=True) == ("A", "C")
