"""The guard's test: agreement with the champion against what its test score predicts."""

from __future__ import annotations

from comprehend_al.guard import MISSED, Unit, assess, sample

LABELS = ["BILLING", "SHIPPING", "RETURNS", "ACCOUNT"]


def units(agree: int, total: int, *, shift: dict[str, str] | None = None) -> list[Unit]:
    """``total`` units over four labels, the first ``agree`` of them agreeing with the champion."""
    found = []
    for i in range(total):
        given = LABELS[i % 4]
        predicted = given if i < agree else (shift or {}).get(given, LABELS[(i + 1) % 4])
        found.append(Unit(i + 1, given, predicted, 0.5 + (i % 10) / 20, f"h{i}"))
    return found


def check(found: list[Unit], expected: float = 0.8, known: set[str] | None = None) -> object:
    return assess(found, expected=expected, tolerance=0.25, confidence=0.999, known_labels=known)


def test_a_batch_agreeing_far_below_the_champions_score_is_held() -> None:
    """The issue's example: a champion at 0.80 on the test set, a batch agreeing at 0.10."""
    report = check(units(20, 200))

    assert report.held and report.p_value is not None and report.p_value < 1e-6  # type: ignore[attr-defined]
    assert "suspected label shift" in report.reason  # type: ignore[attr-defined]


def test_a_batch_agreeing_about_as_predicted_passes() -> None:
    report = check(units(150, 200))

    assert not report.held and report.agreement == 0.75  # type: ignore[attr-defined]


def test_a_moderately_lower_agreement_within_the_tolerance_passes() -> None:
    """New data the champion knows less well (0.62 where 0.80 is predicted) is not a label shift."""
    assert not check(units(124, 200)).held  # type: ignore[attr-defined]


def test_the_report_says_which_labels_moved_where_and_lists_confident_disagreements() -> None:
    shift = {"BILLING": "SHIPPING", "SHIPPING": "RETURNS", "RETURNS": "ACCOUNT", "ACCOUNT": "BILLING"}
    report = check(units(0, 200, shift=shift))

    assert report.moves["BILLING"] == {"SHIPPING": 50}  # type: ignore[attr-defined]
    assert "→" in report.summary()  # type: ignore[attr-defined]
    scores = [row["score"] for row in report.suspicious]  # type: ignore[attr-defined]
    assert len(scores) == 10 and scores == sorted(scores, reverse=True)


def test_labels_the_champion_cannot_know_are_left_out_and_reported() -> None:
    found = units(180, 200) + [Unit(900 + i, "REFUND", "BILLING", 0.9, f"r{i}") for i in range(30)]

    report = check(found, known=set(LABELS))

    assert not report.held and report.unknown_labels == {"REFUND": 30} and report.units == 200  # type: ignore[attr-defined]


def test_too_few_units_are_never_held() -> None:
    report = check(units(0, 10))

    assert not report.held and report.p_value is None  # type: ignore[attr-defined]


def test_an_entity_the_champion_does_not_find_counts_as_a_disagreement() -> None:
    found = [Unit(i, "PERSON", None, 0.0, "h") for i in range(40)]
    report = check(found, expected=0.9)
    assert report.held and report.moves == {"PERSON": {MISSED: 40}}  # type: ignore[attr-defined]


def test_the_sample_is_seeded_and_bounded() -> None:
    assert sample(5, 10, "b1") == [0, 1, 2, 3, 4]
    chosen = sample(1000, 50, "b1")
    assert len(chosen) == 50 and chosen == sample(1000, 50, "b1") != sample(1000, 50, "b2")
