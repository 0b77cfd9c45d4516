"""The entity-recognizer benchmark (``python -m local.bench --kind entities``) on small generated data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local import entitygen
from local.bench import main


def _write(folder: Path, documents: int, seed: int) -> Path:
    folder.mkdir()
    text, annotations = entitygen.to_files(entitygen.generate(documents, seed=seed))
    (folder / "documents.txt").write_bytes(text)
    (folder / "annotations.csv").write_bytes(annotations)
    return folder


def test_entities_bench_prints_its_json_contract_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = _write(tmp_path / "train", 160, seed=1)
    test = _write(tmp_path / "test", 40, seed=2)

    assert main(["--kind", "entities", "--train", str(train), "--test", str(test)]) == 0

    out = capsys.readouterr()
    result = json.loads(out.out.strip().splitlines()[-1])
    assert "[bench]" in out.err  # progress goes to stderr, not stdout
    assert result["kind"] == "entities"
    assert (result["train"], result["test"]) == (str(train), str(test))
    assert result["documents"] == {"train": 160, "test": 40}
    assert result["entity_types"] == sorted(entitygen.TYPES)
    assert set(result["per_type_f1"]) == set(entitygen.TYPES)
    for key in ("precision", "recall", "f1", *(f"per_type_f1.{t}" for t in entitygen.TYPES)):
        value = result
        for part in key.split("."):
            value = value[part]
        assert isinstance(value, float) and 0.0 <= value <= 1.0, key
    assert result["f1"] > 0.5  # the generated sentences are easy; a broken pipeline scores ~0
    p, r = result["precision"], result["recall"]
    assert result["f1"] == pytest.approx(2 * p * r / (p + r), abs=1e-3)
    assert 0 < result["train_seconds"] < 60 and result["service_train_seconds"] <= result["train_seconds"]
    assert result["train_cpu_seconds"] > 0 and result["load"]["cpus"] >= 1
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    # the service scored the same model on the same test set (0-100 scale): the figures must agree
    assert result["service_metrics"]["F1Score"] == pytest.approx(100 * result["f1"], abs=0.1)


def test_entities_bench_max_docs_and_missing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = _write(tmp_path / "train", 120, seed=3)
    test = _write(tmp_path / "test", 30, seed=4)
    assert main(["--kind", "entities", "--train", str(train), "--test", str(test), "--max-docs", "10"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["documents"]["test"] == 10

    (test / "annotations.csv").unlink()
    with pytest.raises(SystemExit, match=r"annotations\.csv: not found"):
        main(["--kind", "entities", "--train", str(train), "--test", str(test)])
