"""The classification engine behind the local service, and the shape checker the service tests rely on."""

from __future__ import annotations

from pathlib import Path

import pytest
from comprehend_kit import multi_label_rows, rows
from comprehend_shapes import output_errors

from local.comprehend.engines.classification import ClassifierModel, train

LABELS = ["SPORTS", "FINANCE", "COOKING", "TRAVEL"]


@pytest.fixture(scope="module")
def model() -> ClassifierModel:
    data = rows(LABELS, 60, seed=1)
    return train([t for _, t in data], [[label] for label, _ in data], multi_label=False)


def test_scores_are_sorted_probabilities_over_every_label(model: ClassifierModel) -> None:
    ranked = model.predict_proba(["the striker scored a goal", "hotel and flight to the beach"])
    for scores in ranked:
        assert sorted(name for name, _ in scores) == sorted(LABELS)
        values = [score for _, score in scores]
        assert values == sorted(values, reverse=True)
        assert sum(values) == pytest.approx(1.0, abs=1e-6)
    assert [scores[0][0] for scores in ranked] == ["SPORTS", "TRAVEL"]


def test_confidence_is_calibrated_on_held_out_documents(model: ClassifierModel) -> None:
    held_out = rows(LABELS, 25, seed=99)
    ranked = model.predict_proba([t for _, t in held_out])
    accuracy = sum(r[0][0] == label for r, (label, _) in zip(ranked, held_out, strict=True)) / len(held_out)
    confidence = sum(r[0][1] for r in ranked) / len(ranked)
    assert accuracy >= 0.9
    assert abs(confidence - accuracy) < 0.15  # neither wildly over- nor under-confident


def test_save_and_load_give_the_same_predictions(model: ClassifierModel, tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    model.save(path)
    loaded = ClassifierModel.load(path)
    texts = ["butter and garlic", "dividend profit"]
    assert loaded.labels == model.labels
    assert loaded.predict_proba(texts) == model.predict_proba(texts)


def test_multi_label_scores_each_label_independently() -> None:
    data = multi_label_rows(LABELS[:3], 120, seed=2)
    model = train([t for _, t in data], [labels for labels, _ in data], multi_label=True)
    assert model.multi_label and model.labels == sorted(LABELS[:3])
    both = dict(model.predict_proba(["recipe butter oven bank loan interest"])[0])
    assert both["COOKING"] >= 0.5 and both["FINANCE"] >= 0.5 and both["SPORTS"] < 0.5
    assert model.predict(["recipe flour oven dough"]) == [["COOKING"]]


def test_training_needs_two_labels() -> None:
    with pytest.raises(ValueError, match="at least 2 labels"):
        train(["a goal", "a match"], [["SPORTS"], ["SPORTS"]], multi_label=False)


def test_the_shape_checker_reports_departures_from_botocore_shapes() -> None:
    good = {"Classes": [{"Name": "A", "Score": 0.5}]}
    assert output_errors("ClassifyDocument", good) == []
    assert output_errors("ClassifyDocument", {"Classes": [{"Name": 1, "Score": "x"}]}) == [
        "$.Classes[0].Name: expected string, got int",
        "$.Classes[0].Score: expected number, got 'x'",
    ]
    assert output_errors("DescribeEndpoint", {"EndpointProperties": {"Status": "BROKEN", "Extra": 1}}) == [
        "$.EndpointProperties.Status: 'BROKEN' not in enum ['CREATING', 'DELETING', 'FAILED', 'IN_SERVICE', "
        "'UPDATING']",
        "$.EndpointProperties.Extra: unknown member of EndpointProperties",
    ]
    assert output_errors("StartDocumentClassificationJob", {"SubmitTime": "yesterday"}) == [
        "$.SubmitTime: unknown member of StartDocumentClassificationJobResponse"
    ]
    assert output_errors("DeleteEndpoint", {}) == []


def test_the_real_time_path_scores_like_the_batch_path(model: ClassifierModel) -> None:
    texts = ["the striker scored a goal", "hotel and flight", "zzz qqq", "Bank LOAN, with interest!"]
    batch = model.scores(texts)
    for i, text in enumerate(texts):
        assert model.scores([text])[0] == pytest.approx(batch[i], abs=1e-4)
