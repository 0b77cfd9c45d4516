"""The offline dashboard: registry and lineage, metric per version, confusion matrices, drift, review queue.

The page is ``web/dashboard/`` (HTML, CSS, JavaScript) with Chart.js vendored under ``web/vendor/``
(no CDN). Its data is one object, ``window.DASHBOARD``, in ``data.js``:

* served live by :class:`DashboardServer` (``python -m local.cli serve``): every load of ``data.js`` runs
  the template's ``MonitorFunction`` (the schedule, offline) and reads the registry, the active pointers
  and the monitor's drift reports from the stack;
* or written once, with the page and Chart.js, as a static snapshot (:func:`write_snapshot`, ``make demo``):
  ``index.html`` opens from disk, no server needed.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from comprehend_al.models import ModelKind
from comprehend_al.store.live_stats import LiveStats
from comprehend_al.store.registry import Registry

from local.httpserver import LocalService, Request, Resolver, Response, Router
from local.stack import Offline
from local.web import WEB_ROOT, asset_path, read_asset

PAGE = "dashboard"
ASSETS = {"index.html": "text/html", "dashboard.js": "text/javascript", "dashboard.css": "text/css"}
VENDOR = {"chart.js/chart.umd.min.js": "text/javascript", "chart.js/LICENSE.md": "text/plain"}
REPORT_DAYS = 30


def _model(record: dict[str, Any]) -> dict[str, Any]:
    baseline = record.pop("baseline", None) or {}
    record["baseline_predictions"] = baseline.get("predictions")  # the vocabulary stays out of the page
    return record


def collect(env: Offline, *, run_monitor: bool = True) -> dict[str, Any]:
    """What the page shows, read from the offline stack (the monitor runs first, as its schedule would)."""
    outputs = env.stack.outputs
    monitor: dict[str, Any] | None = None
    if run_monitor:
        result, error = env.router.invoke("MonitorFunction", {"detail-type": "Scheduled Event"})
        monitor = None if error else result
    registry = Registry(outputs["RegistryTableName"])
    stats = LiveStats(outputs["PredictionsTableName"])
    since = datetime.now(UTC) - timedelta(days=REPORT_DAYS)
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "active": {kind.value: env.stack.active(kind).version for kind in ModelKind},
        "models": [_model(m.model_dump(mode="json")) for kind in ModelKind for m in registry.models(kind)],
        "datasets": [
            {
                "kind": d.dataset.kind.value,
                "version": d.version,
                "parent": d.parent,
                "uploads": d.uploads,
                "documents": d.dataset.documents,
                "added": d.dataset.added,
                "label_counts": d.dataset.label_counts,
                "created_at": d.created_at,
            }
            for kind in ModelKind
            for d in registry.datasets(kind)
        ],
        "drift": stats.reports(ModelKind.CLASSIFIER.value, since),
        "monitor": monitor,
        "selection_metric": env.stack.parameter("selection-metric") or "F1Score",
    }


def data_js(data: dict[str, Any]) -> str:
    return "window.DASHBOARD = " + json.dumps(data, default=str) + ";\n"


def write_snapshot(folder: Path, data: dict[str, Any]) -> Path:
    """The page, its scripts, Chart.js and its licence, and ``data.js``: opens from disk."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ASSETS:
        shutil.copyfile(asset_path(PAGE, name), folder / name)
    for name in VENDOR:
        target = folder / "vendor" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(WEB_ROOT / "vendor" / name, target)
    (folder / "data.js").write_text(data_js(data), encoding="utf-8")
    return folder / "index.html"


# --- served live (serve) ---------------------------------------------------------------------------------
router: Router[Any] = Router()


@router.get("/dashboard")
def _index(board: DashboardServer, request: Request) -> Response:
    if not request.path.endswith("/"):  # the page's files are relative to /dashboard/
        return Response.redirect("/dashboard/")
    return Response.html(200, read_asset(PAGE, "index.html"))


@router.get("/favicon.ico")
def _favicon(board: DashboardServer, request: Request) -> Response:
    return Response(204)  # no icon: browsers ask for one, and a 404 would be a console error


@router.get("/dashboard/data.js")
def _data(board: DashboardServer, request: Request) -> Response:
    return Response.text(200, data_js(collect(board.env)), "text/javascript; charset=utf-8")


@router.get("/dashboard/<name>")
def _asset(board: DashboardServer, request: Request) -> Response:
    name = request.params["name"]
    if name not in ASSETS:
        return Response.text(404, "not found")
    return Response.text(200, read_asset(PAGE, name), f"{ASSETS[name]}; charset=utf-8")


@router.get("/dashboard/vendor/<name:path>")
def _vendor(board: DashboardServer, request: Request) -> Response:
    name = request.params["name"]
    if name not in VENDOR:
        return Response.text(404, "not found")
    text = (WEB_ROOT / "vendor" / name).read_text(encoding="utf-8")
    return Response.text(200, text, f"{VENDOR[name]}; charset=utf-8")


class DashboardServer(LocalService):
    """``GET /dashboard`` on loopback, with live data from the running offline stack."""

    thread_name = "local-dashboard"

    def __init__(self, env: Offline) -> None:
        super().__init__()
        self.env = env
        self.resolver: Resolver[DashboardServer] = Resolver()
        self.resolver.include_router(router)
