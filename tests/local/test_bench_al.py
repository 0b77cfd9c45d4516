"""The active-learning benchmark: selection strategies on hand-made probabilities, and its JSON contract."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from local import datagen
from local.bench_al import (
    area_under_curve,
    labels_to_target,
    main,
    schedule,
    select_entropy,
    select_least_confidence,
    select_margin,
    select_random,
    stratified_seed,
)

PROBAS = [
    [0.90, 0.05, 0.05],  # 0: confident
    [0.40, 0.35, 0.25],  # 1: lowest top score, small margin, high entropy
    [0.50, 0.495, 0.005],  # 2: smallest margin, but top score 0.5 and lower entropy
    [0.34, 0.33, 0.33],  # 3: nearly uniform: least confident, highest entropy, second smallest margin
    [1.00, 0.00, 0.00],  # 4: certain
]


def test_least_confidence_picks_the_lowest_top_scores() -> None:
    assert select_least_confidence(PROBAS, 3) == [3, 1, 2]
    assert select_least_confidence(PROBAS, 5)[-1] == 4


def test_margin_picks_the_smallest_gap_between_the_two_best() -> None:
    assert select_margin(PROBAS, 2) == [2, 3]
    assert select_margin(PROBAS, 5) == [2, 3, 1, 0, 4]
    assert select_margin([[0.6, 0.1, 0.3], [0.2, 0.45, 0.35]], 1) == [1]  # the best two need not come first


def test_entropy_picks_the_most_spread_distributions() -> None:
    assert select_entropy(PROBAS, 3) == [3, 1, 2]
    assert select_entropy(PROBAS, 5)[-1] == 4  # zero entropy, no NaN from log(0)


def test_selection_edge_cases() -> None:
    assert select_least_confidence(PROBAS, 0) == []
    assert sorted(select_margin(PROBAS, 99)) == [0, 1, 2, 3, 4]
    assert select_least_confidence([[0.5, 0.5], [0.5, 0.5]], 1) == [0]  # ties: the lower index
    picked = select_random(10, 4, random.Random(1))
    assert len(set(picked)) == 4 and all(0 <= i < 10 for i in picked)


def test_schedule_seed_and_metrics() -> None:
    assert schedule(1000, 20, 20, 2.0, None) == [20, 40, 80, 160, 320]  # 640 > 60 % of the pool
    assert schedule(1000, 20, 10, 1.0, 3) == [20, 30, 40, 50]
    labels = ["A"] * 10 + ["B"] * 5 + ["C"] * 1
    chosen = stratified_seed(labels, 6, random.Random(0))
    assert len(set(chosen)) == 6
    assert {labels[i] for i in chosen} == {"A", "B", "C"}
    curve = [[10, 0.5, 0.4], [20, 0.7, 0.6], [40, 0.9, 0.9]]
    assert labels_to_target(curve, 0.8) == pytest.approx(20 * 2**0.5)  # halfway on the log2 axis
    assert labels_to_target(curve, 0.8, log_axis=False) == pytest.approx(30.0)
    assert labels_to_target(curve, 0.5) == 10.0
    assert labels_to_target(curve, 0.95) is None
    assert area_under_curve(curve) == pytest.approx((10 * 0.6 + 20 * 0.8) / 30)
    assert area_under_curve(curve, log_axis=True) == pytest.approx(0.7)


def test_json_contract_on_generated_tickets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    train.write_bytes(datagen.to_csv(datagen.generate(240, seed=1, noise=0.05)))
    test.write_bytes(datagen.to_csv(datagen.generate(80, seed=2)))
    strategies = ["random", "least_confidence", "margin", "entropy"]
    argv = ["--train", str(train), "--test", str(test), "--seed-size", "10", "--batch", "10"]
    assert main([*argv, "--rounds", "3", "--repeats", "2", "--strategies", ",".join(strategies)]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    assert report["pool_size"] == 240 and report["test_size"] == 80 and report["repeats"] == 2
    assert report["schedule"] == [10, 20, 40, 80]
    assert 0 < report["full_data_accuracy"] <= 1
    assert report["target"] == pytest.approx(0.95 * report["full_data_accuracy"], abs=1e-4)
    assert isinstance(report["engine"], str) and report["engine"]
    assert report["seconds"] >= 0
    assert set(report["strategies"]) == set(strategies)
    for result in report["strategies"].values():
        curve = result["curve"]
        assert [point[0] for point in curve] == [10, 20, 40, 80]
        assert all(len(point) == 3 and 0 <= point[1] <= 1 and 0 <= point[2] <= 1 for point in curve)
        assert 0 <= result["auc"] <= 1
        ltt = result["labels_to_target"]
        assert ltt is None or 0 < ltt <= 80
        assert len(result["labels_to_target_runs"]) == 2
    # every strategy starts from the same seed set: identical first points
    assert len({json.dumps(r["curve"][0]) for r in report["strategies"].values()}) == 1
