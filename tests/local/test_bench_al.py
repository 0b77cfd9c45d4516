"""The active-learning benchmark: selection strategies on hand-made probabilities, and its JSON contract."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from local import datagen
from local.bench_al import compare_to_random, labels_to_target, main, schedule, select_random, stratified_seed


def test_random_picks_distinct_documents() -> None:
    picked = select_random(10, 4, random.Random(1))
    assert len(set(picked)) == 4 and all(0 <= i < 10 for i in picked)


def test_ratio_to_random_pairs_repeats_and_needs_every_repeat_to_reach_the_target() -> None:
    results = {
        "random": {"labels_to_target_runs": [100.0, 200.0]},
        "margin": {"labels_to_target_runs": [50.0, 120.0]},
        "entropy": {"labels_to_target_runs": [60.0, None]},
    }
    compare_to_random(results)
    assert results["margin"]["ratio_to_random_runs"] == [0.5, 0.6]
    assert results["margin"]["ratio_to_random_mean"] == pytest.approx(0.55)
    assert results["margin"]["ratio_to_random_std"] == pytest.approx(0.05)
    assert results["entropy"]["ratio_to_random_mean"] is None


def test_schedule_seed_and_metrics() -> None:
    assert schedule(1000, 20, 20, 2.0, None) == [20, 40, 80, 160, 320]  # 640 > 60 % of the pool
    assert schedule(100, 20, 20, 1.0, None) == [20, 40, 60]  # a fixed daily budget
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


def test_json_contract_on_generated_tickets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    train.write_bytes(datagen.to_csv(datagen.generate(240, seed=1, noise=0.05)))
    test.write_bytes(datagen.to_csv(datagen.generate(80, seed=2)))
    strategies = ["random", "margin", "margin_clusters"]
    argv = ["--train", str(train), "--test", str(test), "--seed-size", "10", "--batch", "10", "--full-curves"]
    assert (
        main([*argv, "--rounds", "3", "--repeats", "2", "--jobs", "2", "--strategies", ",".join(strategies)])
        == 0
    )
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    assert report["pool_size"] == 240 and report["test_size"] == 80 and report["repeats"] == 2
    assert report["schedule"] == [10, 20, 30, 40]
    assert 0 < report["full_data_accuracy"] <= 1
    assert report["target"] == pytest.approx(0.95 * report["full_data_accuracy"], abs=1e-4)
    assert isinstance(report["engine"], str) and report["engine"]
    assert report["seconds"] >= 0 and report["cpu_seconds"] >= 0
    assert set(report["strategies"]) == set(strategies) == set(report["labels_to_target"])
    assert report["ratio_to_random"]["random"] in (None, 1.0)
    for result in report["strategies"].values():
        curve = result["curve"]
        assert [point[0] for point in curve] == [10, 20, 30, 40]
        assert all(len(point) == 3 and 0 <= point[1] <= 1 and 0 <= point[2] <= 1 for point in curve)
        assert len(result["labels_to_target_runs"]) == 2
        assert all(v is None or 0 < v <= 40 for v in result["labels_to_target_runs"])
    # every strategy starts from the same seed set: identical first points
    assert len({json.dumps(r["curve"][0]) for r in report["strategies"].values()}) == 1


def test_unknown_strategy_is_refused(tmp_path: Path) -> None:
    train = tmp_path / "train.csv"
    train.write_bytes(datagen.to_csv(datagen.generate(40, seed=1)))
    with pytest.raises(SystemExit, match="unknown strategies"):
        main(["--train", str(train), "--test", str(train), "--strategies", "random,best_guess"])
