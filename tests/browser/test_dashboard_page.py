"""The offline dashboard in headless Chromium: its charts render with data and the console stays clean.

The offline stack trains a classifier twice (a promotion, a rejection) and an entity recognizer once,
/classify serves a stream of tickets, the monitor runs; the dashboard's static snapshot is written and
opened from disk, and the live page is served by ``DashboardServer`` as ``serve`` does. A screenshot is
saved (``dashboard.png`` in the test's folder; ``DASHBOARD_SCREENSHOT=path`` keeps a copy elsewhere).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from local import datagen, entitygen
from local.dashboard import DashboardServer, collect, write_snapshot
from local.stack import REGION, Offline, running

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
CHARTS = [
    "metric-classifier",
    "metric-entity_recognizer",
    "per-label-classifier",
    "per-label-entity_recognizer",
    "drift-history",
    "drift-labels",
    "drift-confidence",
]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Offline]:
    with running(tmp_path_factory.mktemp("dashboard") / "comprehend") as offline:
        stack = offline.stack
        stack.put("test/classifier/test.csv", datagen.to_csv(datagen.generate(150, seed=99)))
        assert (
            stack.upload("train/new/r1.csv", datagen.to_csv(datagen.generate(100, seed=1)))["status"]
            == "SUCCEEDED"
        )
        assert (
            stack.upload("train/new/r2.csv", datagen.to_csv(datagen.generate(300, seed=2)))["status"]
            == "SUCCEEDED"
        )
        harmful = datagen.mislabel(datagen.generate(300, seed=3))
        assert stack.upload("train/new/r3.csv", datagen.to_csv(harmful))["status"] == "SUCCEEDED"
        documents, annotations = entitygen.to_files(entitygen.generate(80, seed=99))
        stack.put("test/entities/documents.txt", documents)
        stack.put("test/entities/annotations.csv", annotations)
        documents, annotations = entitygen.to_files(entitygen.generate(120, seed=1))
        stack.put("train/new/news/documents.txt", documents)
        assert stack.upload("train/new/news/annotations.csv", annotations)["status"] == "SUCCEEDED"
        event = json.loads((ROOT / "events" / "classify" / "text.json").read_text())
        labels = ["BILLING"] * 3 + [label for label in sorted(datagen.TOPICS) if label != "BILLING"]
        for ticket in datagen.generate(120, seed=5, labels=labels):
            event["body"] = json.dumps({"text": ticket.text})
            result, error = offline.router.invoke("ClassifyFunction", event)
            assert error is None, result
        offline.router.invoke("MonitorFunction", {})  # an earlier point of the drift history
        yield offline


def _open(page: Any, url: str) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_load_state("load")
    return errors


def _chart_points(page: Any) -> dict[str, int]:
    """Data points of each chart's datasets, as Chart.js holds them."""
    return dict(
        page.evaluate(
            """ids => Object.fromEntries(ids.map(id => {
                const chart = Chart.getChart(document.getElementById(id));
                const points = chart ? chart.data.datasets.reduce(
                    (n, d) => n + d.data.filter(v => typeof v === "number").length, 0) : -1;
                return [id, points];
            }))""",
            CHARTS,
        )
    )


def test_the_dashboard_snapshot_renders_every_chart_with_data(
    env: Offline,
    browser_page: Any,
    tmp_path: Path,
) -> None:
    # Given the snapshot `make demo` writes, from a stack with history, traffic and a monitor run
    page = write_snapshot(tmp_path / "dashboard", collect(env))
    # When a person opens it from disk
    errors = _open(browser_page, page.as_uri())
    # Then every chart has data points, the console has no error, and the page shows the registry
    points = _chart_points(browser_page)
    assert all(n > 0 for n in points.values()), points
    assert errors == []
    rows = browser_page.locator("#registry tr").count()
    assert rows == 1 + 3, rows  # header + two classifier versions (the harmful one is held) + a recognizer
    assert browser_page.locator("#cm-active table.cm").count() == 1
    assert browser_page.locator("#cm-challenger table.cm").count() == 1
    assert "BILLING" in browser_page.locator("#drift-note").inner_text()
    shot = tmp_path / "dashboard.png"
    browser_page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("DASHBOARD_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["DASHBOARD_SCREENSHOT"])


def test_serve_shows_the_dashboard_live(env: Offline, browser_page: Any) -> None:
    # Given the dashboard served as `serve` serves it
    with DashboardServer(env) as board:
        # When the page is opened (the monitor runs for its data)
        errors = _open(browser_page, f"{board.url}/dashboard")
        # Then it rendered from live data, with every chart, and without console errors
        assert browser_page.url.endswith("/dashboard/")
        points = _chart_points(browser_page)
        assert all(n > 0 for n in points.values()), points
        assert errors == []
        assert boto3.client("ssm", region_name=REGION) is not None
