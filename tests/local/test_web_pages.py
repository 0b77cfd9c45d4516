"""The web pages' files live under web/<page>/ and are read from there at run time."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.a2i import A2IService
from local.report import model_rows, series, table, write_report
from local.web import WEB_ROOT

ROW = {
    "kind": "clf",
    "version": "v000001",
    "dataset": "d1",
    "documents": 100,
    "accuracy": 0.8,
    "f1": 0.75,
    "micro_f1": 0.8,
    "decision": "promote",
    "status": "TRAINED",
    "reason": "",
    "endpoint": "ep",
}


@pytest.fixture
def a2i_url(tmp_path: Path) -> Iterator[str]:
    with A2IService(tmp_path / "a2i", output_bucket="unused") as service:
        assert service.url is not None
        yield service.url


def _get(url: str) -> tuple[str, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.headers["Content-Type"], response.read().decode()


def test_the_review_page_links_its_stylesheet_served_from_web_review(a2i_url: str) -> None:
    _, page = _get(f"{a2i_url}/review")
    content_type, css = _get(f"{a2i_url}/review/review.css")

    assert '<link rel="stylesheet" href="/review/review.css">' in page
    assert content_type.startswith("text/css")
    assert css == (WEB_ROOT / "review" / "review.css").read_text(encoding="utf-8")


def test_the_report_page_is_the_web_report_template_filled_in(tmp_path: Path) -> None:
    page = write_report(tmp_path, [ROW], {"classifier/active-endpoint-arn": "arn<1>"}, {}).read_text()

    assert page.startswith("<!doctype html>") and "new Chart(" in page
    assert '"clf": [{"version": "v000001", "value": 0.75, "decision": "promote"}]' in page
    assert "classifier/active-endpoint-arn = arn&lt;1&gt;" in page
    assert (tmp_path / "vendor" / "chart.js" / "chart.umd.min.js").is_file()


def test_the_report_keeps_a_perfect_score_and_one_series_per_kind() -> None:
    """A perfect score (1, an int in JSON) is a point; the kinds are never joined into one line."""
    rows = model_rows(
        [
            {
                "kind": "classifier",
                "version": "v1",
                "test_version": "t",
                "evaluations": {"t": {"F1Score": 1}},
            },
            {"kind": "entity_recognizer", "version": "v2", "evaluations": {"t": {"F1Score": 0.9}}},
            {
                "kind": "classifier",
                "version": "v3",
                "test_version": "t",
                "evaluations": {"t": {"F1Score": 0.8}},
            },
        ],
        {},
    )
    found = series(rows)
    assert [p["value"] for p in found["classifier"]] == [1.0, 0.8]
    assert [p["value"] for p in found["entity_recognizer"]] == [0.9]
    assert "1.000" in table(rows)
