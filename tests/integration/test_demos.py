"""The README's demos keep doing what the README says (slow: `make test-slow`, run by CI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local import cli

pytestmark = pytest.mark.slow


def test_demo_holds_the_harmful_batch_before_training_then_promotes_and_deploys_a_recognizer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given the generated tickets, when `make demo` runs, then the harmful round is held by the guard
    before training (its report shown), the clean round after it is promoted, the entity round deploys a
    recognizer, and the report is written."""
    code = cli.main(["demo", "--state-dir", str(tmp_path / "state"), "--report", str(tmp_path / "report")])

    assert code == 0
    out = capsys.readouterr().out
    assert "HELD before training (no training started)" in out and "labels moved:" in out
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    decisions = [(m["kind"], m["decision"]) for m in report["models"]]
    assert decisions == [
        ("classifier", "promote"),
        ("classifier", "promote"),
        ("entity_recognizer", "promote"),
    ]
    assert "new Chart(" in (tmp_path / "report" / "report.html").read_text()
    assert "window.DASHBOARD" in (tmp_path / "report" / "dashboard" / "data.js").read_text()


def test_loop_demo_raises_the_metric_and_never_lowers_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given a small seed model, when the loop demo streams tickets, reviews uncertain ones and retrains,
    then the active model's F1 rises (a challenger is promoted only when better beyond chance: smaller
    gains wait for the next round) and never falls."""
    code = cli.main(
        ["loop", "--rounds", "3", "--state-dir", str(tmp_path / "state"), "--report", str(tmp_path / "r")]
    )

    assert code == 0
    assert "the metric rose in 0 of" not in capsys.readouterr().out
