"""The entity loop demo (`make demo-loop KIND=entities`) does what the README says (slow: test-slow)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from local import cli

pytestmark = pytest.mark.slow


def test_entity_loop_raises_f1_and_holds_the_careless_annotators_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given a weak first recognizer, when the entity loop streams documents through /analyze, people
    annotate the uncertain ones and the accepted batches retrain it, then the active recognizer's F1 on the
    fixed test set rises, never falls, every round spends labels, and only the careless annotator (caught
    by the gold documents mixed into the loops) has work held."""
    code = cli.main(
        [
            "loop",
            "--kind",
            "entities",
            "--rounds",
            "3",
            "--state-dir",
            str(tmp_path / "state"),
            "--report",
            str(tmp_path / "r"),
        ]
    )

    assert code == 0
    summary = json.loads((tmp_path / "r" / "entity-loop.json").read_text())
    f1 = [row["f1"] for row in summary["rounds"]]
    assert f1[-1] > f1[0] and all(b >= a for a, b in itertools.pairwise(f1)), f1
    assert all(row["reviewed"] > 0 for row in summary["rounds"][1:])
    annotators = summary["quality"]["annotators"]
    assert summary["held"] == ["cal"], annotators  # held by ProcessReview's gold scores, not by the demo
    assert annotators["cal"]["gold_accuracy"] < 0.85 <= annotators["ana"]["gold_accuracy"]
    out = capsys.readouterr().out
    assert "round  analyzed  reviewed  answers  active F1" in out
