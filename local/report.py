"""The demo's report: a table for the terminal, and an HTML page with a chart of the metric per version.

The page is ``web/report/index.html`` (a string.Template: ``$chart``, ``$table``, ``$ssm``); the chart is
an SVG drawn here from the rows.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from string import Template
from typing import Any

from local.web import read_asset


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
                "accuracy": metrics.get("Accuracy"),
                "f1": metrics.get("F1Score"),
                "micro_f1": metrics.get("MicroF1Score"),
                "decision": selection.get("decision", "-"),
                "status": model.get("status", ""),
                "reason": model.get("reason") or selection.get("reason", ""),
                "endpoint": (model.get("endpoint_arn") or "-").rsplit("/", 1)[-1],
            }
        )
    return rows


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


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


def chart_svg(rows: list[dict[str, Any]], metric: str = "f1", width: int = 640, height: int = 280) -> str:
    """A line chart of ``metric`` per model version; promoted versions green, rejected red."""
    points = [(i, r[metric]) for i, r in enumerate(rows) if isinstance(r.get(metric), float)]
    pad, inner_w, inner_h = 50, width - 80, height - 90
    x = lambda i: pad + (inner_w * i / max(1, len(rows) - 1))  # noqa: E731
    y = lambda v: 20 + inner_h * (1 - v)  # noqa: E731
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        f'font-size="12"><rect width="100%" height="100%" fill="white"/>'
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<line x1="{pad}" x2="{pad + inner_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#ddd"/>'
        )
        parts.append(f'<text x="{pad - 8}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:.2f}</text>')
    if points:
        path = " ".join(f"{'M' if n == 0 else 'L'}{x(i):.1f},{y(v):.1f}" for n, (i, v) in enumerate(points))
        parts.append(f'<path d="{path}" fill="none" stroke="#36c" stroke-width="2"/>')
    for i, row in enumerate(rows):
        value = row.get(metric)
        colour = {"promote": "#2a2", "reject": "#c22"}.get(row["decision"], "#888")
        if isinstance(value, float):
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="6" fill="{colour}"/>')
            parts.append(
                f'<text x="{x(i):.1f}" y="{y(value) - 10:.1f}" text-anchor="middle">{value:.3f}</text>'
            )
        label = html.escape(f"{row['version'][-6:]} ({row['decision']})")
        parts.append(f'<text x="{x(i):.1f}" y="{height - 45}" text-anchor="middle">{label}</text>')
    parts.append(
        f'<text x="{width / 2}" y="{height - 15}" text-anchor="middle">model version: {metric} on the '
        "fixed test set (green promoted, red rejected)</text></svg>"
    )
    return "".join(parts)


def write_report(
    folder: Path, rows: list[dict[str, Any]], ssm: dict[str, str | None], extra: dict[str, Any]
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "chart.svg").write_text(chart_svg(rows))
    (folder / "report.json").write_text(
        json.dumps({"models": rows, "ssm": ssm, **extra}, indent=2, default=str)
    )
    page = folder / "report.html"
    page.write_text(
        Template(read_asset("report", "index.html")).substitute(
            chart=chart_svg(rows),
            table=html.escape(table(rows)),
            ssm=html.escape("\n".join(f"{k} = {v}" for k, v in ssm.items())),
        )
    )
    return page
