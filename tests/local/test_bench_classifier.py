"""The classifier benchmark (``python -m local.bench``) on generated tickets: its JSON contract, calibration
figures (ECE) and the off-topic texts' scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local import datagen
from local.bench import OFF_TOPIC, expected_calibration_error, main


def test_classifier_bench_reports_calibration_and_off_topic_scores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    train.write_bytes(datagen.to_csv(datagen.generate(300, seed=1)))
    test.write_bytes(datagen.to_csv(datagen.generate(60, seed=2)))

    assert main(["--train", str(train), "--test", str(test)]) == 0

    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["kind"] == "classifier" and result["documents"] == {"train": 300, "test": 60}
    assert result["accuracy"] > 0.8
    assert 0.0 <= result["ece"] <= 0.2
    assert result["off_topic"]["texts"] == len(OFF_TOPIC) >= 30
    # texts about nothing the model knows score well below the test tickets
    assert result["off_topic"]["mean_top_score"] < result["mean_top_score"] - 0.2
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    # training cold (nothing cached) and again on the same data (embeddings cached), CPU beside wall time,
    # and the machine's load, so that a busy machine does not hide the engine's own cost
    assert result["train_cpu_seconds"] > 0 and result["retrain_cpu_seconds"] > 0
    assert result["retrain_seconds"] > 0 and result["classify_cpu_ms"] > 0
    assert result["load"]["cpus"] >= 1
    assert isinstance(result["encoders"], list)


def test_expected_calibration_error_is_the_binned_gap_between_score_and_accuracy() -> None:
    assert expected_calibration_error([0.9, 0.9, 0.9, 0.9], [True, True, True, False]) == pytest.approx(0.15)
    assert expected_calibration_error([0.55, 0.95], [True, True]) == pytest.approx(0.25)
    assert expected_calibration_error([1.0, 0.0], [True, False]) == 0.0
