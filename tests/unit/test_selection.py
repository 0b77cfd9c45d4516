"""Champion / challenger selection."""

from __future__ import annotations

import math

import pytest
from comprehend_al.errors import InvalidRequest
from comprehend_al.models import ClassificationMetrics, EntityMetrics, SelectionMetric
from comprehend_al.selection import Selection, metric_value, select

F1 = SelectionMetric.F1_SCORE


def classification(f1: float = 0.8, accuracy: float = 0.8) -> ClassificationMetrics:
    return ClassificationMetrics(
        Accuracy=accuracy,
        Precision=0.7,
        Recall=0.6,
        F1Score=f1,
        MicroPrecision=accuracy,
        MicroRecall=accuracy,
        MicroF1Score=accuracy,
        documents=100,
    )


def entities(f1: float = 0.8) -> EntityMetrics:
    return EntityMetrics(Precision=0.9, Recall=0.7, F1Score=f1, documents=50)


# --- metric_value -----------------------------------------------------------------------------------
def test_metric_value_reads_named_classification_metric() -> None:
    # Given classification metrics, When Recall is read, Then its value is returned
    assert metric_value(classification(), SelectionMetric.RECALL) == 0.6


def test_metric_value_accepts_metric_name_as_string() -> None:
    # Given classification metrics, When "Precision" is read, Then its value is returned
    assert metric_value(classification(), "Precision") == 0.7


def test_metric_value_entity_accuracy_falls_back_to_f1() -> None:
    # Given entity metrics (which have no accuracy), When Accuracy is read, Then F1Score is returned
    assert metric_value(entities(f1=0.77), SelectionMetric.ACCURACY) == 0.77


def test_metric_value_unknown_metric_name_is_an_error() -> None:
    # Given a metric name that does not exist, When it is read, Then it is rejected
    with pytest.raises(ValueError):
        metric_value(classification(), "Speed")


# --- select -----------------------------------------------------------------------------------------
def test_first_model_is_promoted() -> None:
    # Given no champion
    # When a challenger is selected
    result = select(classification(f1=0.5), None, metric=F1, min_improvement=0.05)
    # Then it is promoted as the first model, with its value
    assert (result.decision, result.challenger_value, result.champion_value) == ("promote", 0.5, None)
    assert "first model" in result.reason


def test_better_challenger_is_promoted() -> None:
    # Given a challenger 0.05 better than the champion
    # When 0.01 is required
    result = select(classification(f1=0.85), classification(f1=0.80), metric=F1, min_improvement=0.01)
    # Then it is promoted, reporting both values and the improvement
    assert result.decision == "promote"
    assert (result.challenger_value, result.champion_value) == (0.85, 0.80)
    assert result.improvement == pytest.approx(0.05)


def test_reason_names_both_values() -> None:
    # Given a challenger and a champion
    # When selected
    result = select(classification(f1=0.85), classification(f1=0.80), metric=F1, min_improvement=0.01)
    # Then the reason shows both values
    assert "0.8500" in result.reason and "0.8000" in result.reason


def test_improvement_equal_to_minimum_is_promoted_despite_float_noise() -> None:
    # Given 0.85 - 0.80 (0.04999999999999993 in floating point)
    # When exactly 0.05 is required
    result = select(classification(f1=0.85), classification(f1=0.80), metric=F1, min_improvement=0.05)
    # Then it counts as meeting the minimum
    assert result.decision == "promote"


def test_improvement_below_minimum_is_rejected() -> None:
    # Given a challenger 0.005 better
    # When 0.01 is required
    result = select(classification(f1=0.805), classification(f1=0.80), metric=F1, min_improvement=0.01)
    # Then it is rejected
    assert result.decision == "reject"
    assert "below the required" in result.reason


def test_tie_keeps_champion_even_with_zero_minimum() -> None:
    # Given equal values
    # When no minimum improvement is required
    result = select(classification(f1=0.8), classification(f1=0.8), metric=F1, min_improvement=0.0)
    # Then the champion is kept
    assert result.decision == "reject"
    assert "tie" in result.reason


def test_worse_challenger_is_rejected() -> None:
    # Given a worse challenger
    # When no minimum improvement is required
    result = select(classification(f1=0.7), classification(f1=0.8), metric=F1, min_improvement=0.0)
    # Then it is rejected with a negative improvement
    assert result.decision == "reject"
    assert result.improvement == pytest.approx(-0.1)


def test_selection_uses_the_requested_metric() -> None:
    # Given a challenger better in accuracy but worse in F1
    challenger, champion = classification(f1=0.6, accuracy=0.9), classification(f1=0.8, accuracy=0.8)
    # When selected on accuracy
    result = select(challenger, champion, metric=SelectionMetric.ACCURACY, min_improvement=0.0)
    # Then it is promoted
    assert result.decision == "promote"


def test_nan_challenger_is_rejected_with_reason() -> None:
    # Given a challenger whose F1 is NaN
    # When selected, even without a champion
    result = select(classification(f1=math.nan), None, metric=F1, min_improvement=0.0)
    # Then it is rejected and the value is left out (JSON has no NaN)
    assert (result.decision, result.challenger_value) == ("reject", None)
    assert "no valid F1Score" in result.reason


def test_nan_champion_rejects_the_challenger_with_reason() -> None:
    # Given a champion whose F1 is NaN
    # When a sound challenger is selected
    result = select(classification(f1=0.9), classification(f1=math.nan), metric=F1, min_improvement=0.0)
    # Then the champion is kept and the reason says why
    assert result.decision == "reject"
    assert "champion has no valid F1Score" in result.reason


def test_entity_metrics_select_on_accuracy_via_f1() -> None:
    # Given entity recognizers
    # When selected on Accuracy
    result = select(entities(f1=0.9), entities(f1=0.8), metric=SelectionMetric.ACCURACY, min_improvement=0.05)
    # Then their F1 scores are compared
    assert (result.decision, result.challenger_value, result.champion_value) == ("promote", 0.9, 0.8)


def test_comparing_different_model_kinds_is_an_error() -> None:
    # Given an entity challenger and a classifier champion
    # When selected, Then the request is rejected
    with pytest.raises(InvalidRequest):
        select(entities(), classification(), metric=F1, min_improvement=0.0)


@pytest.mark.parametrize("min_improvement", [-0.1, math.nan, math.inf])
def test_invalid_min_improvement_is_an_error(min_improvement: float) -> None:
    # Given an invalid minimum improvement
    # When selecting, Then the request is rejected
    with pytest.raises(InvalidRequest):
        select(classification(), None, metric=F1, min_improvement=min_improvement)


def test_selection_round_trips_through_json() -> None:
    # Given a selection
    result = select(classification(f1=0.85), classification(f1=0.80), metric=F1, min_improvement=0.01)
    # When dumped to JSON the way handlers return it and parsed back
    again = Selection.model_validate(result.model_dump(mode="json"))
    # Then nothing is lost
    assert again == result


def test_selection_is_frozen() -> None:
    # Given a selection
    result = select(classification(), None, metric=F1, min_improvement=0.0)
    # When it is modified, Then it refuses
    with pytest.raises(ValueError):
        result.decision = "reject"  # type: ignore[misc]
