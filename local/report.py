"""The demo's report: a table for the terminal, and an HTML page with a chart of the metric per version.

The page is ``web/report/index.html`` (a string.Template: ``$table``, ``$ssm``, ``$series``): the chart is
drawn by Chart.js (vendored, ``web/vendor/``, copied beside the page), one series per model kind, every
version's score plotted whether JSON made it ``1`` or ``0.93``. The full dashboard (``local/dashboard.py``)
is written beside it by ``make demo``.
"""

from __future__ import annotations

import html
import json
import shutil
from numbers import Real
from pathlib import Path
from string import Template
from typing import Any

from local.web import WEB_ROOT, read_asset

METRICS = ("accuracy", "f1", "micro_f1")
CHART_JS = "chart.js/chart.umd.min.js"


def _number(value: Any) -> float | None:
    """A metric as a float: JSON's ``1`` (a perfect score) is an int, and is a score all the same."""
    return float(value) if isinstance(value, Real) and not isinstance(value, bool) else None


def model_rows(models: list[dict[str, Any]], datasets: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per model version: dataset size, metrics on the fixed test set, decision, endpoint."""
    rows = []
    for model in models:
        evaluations = model.get("evaluations") or {}
        metrics: dict[str, Any] = evaluations.get(model.get("test_version", ""), {}) or next(
            iter(evaluations.values()), {}
        )
        selection = model.get("selection") or {}
        dataset = datasets.get(model.get("dataset_version", ""), {})
        rows.append(
            {
                "kind": model.get("kind", ""),
                "version": model["version"],
                "dataset": model.get("dataset_version", ""),
                "documents": dataset.get("documents", model.get("dataset_documents", "")),
                "accuracy": _number(metrics.get("Accuracy")),
                "f1": _number(metrics.get("F1Score")),
                "micro_f1": _number(metrics.get("MicroF1Score")),
                "decision": selection.get("decision", "-"),
                "status": model.get("status", ""),
                "reason": model.get("reason") or selection.get("reason", ""),
                "endpoint": (model.get("endpoint_arn") or "-").rsplit("/", 1)[-1],
            }
        )
    return rows


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def series(rows: list[dict[str, Any]], metric: str = "f1") -> dict[str, list[dict[str, Any]]]:
    """One series per model kind (never one line through both kinds), every version in order."""
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row["kind"], []).append(
            {"version": row["version"], "value": row.get(metric), "decision": row["decision"]}
        )
    return found


def table(rows: list[dict[str, Any]]) -> str:
    columns = ["kind", "version", "documents", "accuracy", "f1", "micro_f1", "decision", "status", "endpoint"]
    cells = [[_fmt(r[c]) if r[c] is not None else "-" for c in columns] for r in rows]
    widths = [
        max(len(c), *(len(row[i]) for row in cells)) if cells else len(c) for i, c in enumerate(columns)
    ]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def write_report(
    folder: Path, rows: list[dict[str, Any]], ssm: dict[str, str | None], extra: dict[str, Any]
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(
        json.dumps({"models": rows, "ssm": ssm, **extra}, indent=2, default=str)
    )
    vendor = folder / "vendor" / CHART_JS
    vendor.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(WEB_ROOT / "vendor" / CHART_JS, vendor)
    shutil.copyfile(WEB_ROOT / "vendor" / "chart.js" / "LICENSE.md", vendor.parent / "LICENSE.md")
    page = folder / "report.html"
    page.write_text(
        Template(read_asset("report", "index.html")).substitute(
            series=json.dumps(series(rows)).replace("</", "<\\/"),
            table=html.escape(table(rows)),
            ssm=html.escape("\n".join(f"{k} = {v}" for k, v in ssm.items())),
        )
    )
    return page
