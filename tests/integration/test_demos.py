"""The README's demos keep doing what the README says (slow: `make test-slow`, run by CI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local import cli

pytestmark = pytest.mark.slow


def test_demo_promotes_then_rejects_and_deploys_an_entity_recognizer(tmp_path: Path) -> None:
    """Given the generated tickets, when `make demo` runs, then round 2 is promoted, the harmful round 3
    is rejected, the entity round deploys a recognizer, and the report is written."""
    code = cli.main(["demo", "--state-dir", str(tmp_path / "state"), "--report", str(tmp_path / "report")])

    assert code == 0
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    decisions = [(m["kind"], m["decision"]) for m in report["models"]]
    assert decisions == [
        ("classifier", "promote"),
        ("classifier", "promote"),
        ("classifier", "reject"),
        ("entity_recognizer", "promote"),
    ]
    assert (tmp_path / "report" / "chart.svg").read_text().startswith("<svg")


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
