"""Contract: every metric the dashboard and the alarms name is one that is published.

What the code publishes is read from the source (``ast``): every ``emit("Name", ...)`` and lifecycle
``count("Name", ...)`` call of the layer and the functions, with the name written out (a name the source
does not spell cannot be checked, so it fails here). Namespace and dimensions are the ones
:func:`comprehend_al.observability.emit` really writes: it is run with metrics on and its EMF read back.
AWS's own metrics (Step Functions, Lambda, API Gateway) are checked against the names and dimensions their
documentation gives (:data:`AWS_METRICS`).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.contract.conftest import ROOT

SOURCES = (ROOT / "layers" / "common" / "comprehend_al", ROOT / "functions")
PUBLISHERS = {"emit", "count"}  # observability.emit(name, kind, ...), lifecycle.deps.count(name, kind, ...)
KINDS = {"classifier", "entity_recognizer"}
# (namespace, metric) → its dimension names, as the AWS documentation lists them
AWS_METRICS: dict[tuple[str, str], set[str]] = {
    **{
        ("AWS/States", name): {"StateMachineArn"}
        for name in (
            "ExecutionsStarted",
            "ExecutionsSucceeded",
            "ExecutionsFailed",
            "ExecutionsTimedOut",
            "ExecutionsAborted",
            "ExecutionTime",
        )
    },
    ("AWS/Lambda", "Duration"): {"FunctionName"},
    **{("AWS/ApiGateway", name): {"ApiId"} for name in ("Count", "4xx", "5xx", "Latency")},
}
Metric = tuple[str, str, tuple[tuple[str, str], ...]]  # namespace, name, sorted (dimension, value) pairs


# --- what the code publishes ---------------------------------------------------------------------------
def _literal_names(node: ast.expr) -> list[str] | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _literal_names(node.body), _literal_names(node.orelse)
        return body + orelse if body is not None and orelse is not None else None
    return None


def publishing_calls() -> Iterator[tuple[str, int, list[str] | None]]:
    """(file, line, names or None when not written out) of every publishing call."""
    for source in SOURCES:
        for path in sorted(source.rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            forwarding = {  # the publishers' own bodies pass their parameter on
                id(call)
                for fn in ast.walk(tree)
                if isinstance(fn, ast.FunctionDef) and fn.name in PUBLISHERS
                for call in ast.walk(fn)
            }
            for node in ast.walk(tree):
                if id(node) in forwarding:
                    continue
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in PUBLISHERS
                    and node.args
                ):
                    yield str(path.relative_to(ROOT)), node.lineno, _literal_names(node.args[0])


def published_names() -> set[str]:
    return {name for _, _, names in publishing_calls() for name in names or []}


@pytest.fixture(scope="module")
def emitted() -> dict[str, Any]:
    """The EMF document :func:`emit` writes (metrics on, a service name set as in the template)."""
    import contextlib
    import io
    import os

    from comprehend_al.observability import emit

    saved = {k: os.environ.get(k) for k in ("POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_SERVICE_NAME")}
    os.environ.update(POWERTOOLS_METRICS_DISABLED="false", POWERTOOLS_SERVICE_NAME="comprehend-al")
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            emit("ContractProbe", "classifier", 1)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return dict(json.loads(out.getvalue().strip().splitlines()[-1]))


def _published_dimensions(emitted: dict[str, Any]) -> tuple[str, set[str]]:
    [directive] = emitted["_aws"]["CloudWatchMetrics"]
    [dimensions] = directive["Dimensions"]
    return directive["Namespace"], set(dimensions)


# --- what the template names -----------------------------------------------------------------------------
def _dashboard_body(template: dict[str, Any]) -> dict[str, Any]:
    body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    return dict(json.loads(re.sub(r"\$\{[^}]+\}", "SUBSTITUTED", body)))


def dashboard_metrics(template: dict[str, Any]) -> list[tuple[str, Metric]]:
    """(widget title, metric) of every metric line of every dashboard widget."""
    found = []
    for widget in _dashboard_body(template)["widgets"]:
        for line in widget["properties"].get("metrics", []):
            parts = [p for p in line if not isinstance(p, dict)]
            assert "." not in parts, f"{widget['properties']['title']}: write dimensions out, no '.'"
            namespace, name, *pairs = parts
            dims = tuple(sorted(zip(pairs[::2], pairs[1::2], strict=True)))
            found.append((widget["properties"]["title"], (namespace, name, dims)))
    return found


def alarm_metrics(template: dict[str, Any]) -> list[tuple[str, Metric]]:
    found = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = resource["Properties"]
        dims = tuple(sorted((d["Name"], json.dumps(d["Value"])) for d in props.get("Dimensions", [])))
        found.append((logical_id, (props["Namespace"], props["MetricName"], dims)))
    return found


def problems(
    named: list[tuple[str, Metric]], published: set[str], namespace: str, dims: set[str]
) -> list[str]:
    """Why each named metric is not one that is published ([] when all are)."""
    found = []
    for where, (metric_namespace, name, pairs) in named:
        names = {n for n, _ in pairs}
        if metric_namespace == namespace:
            if name not in published:
                found.append(f"{where}: {name} is not published by the code")
            if names != dims:
                found.append(
                    f"{where}: {name} has dimensions {sorted(names)}, the code writes {sorted(dims)}"
                )
            kinds = {json.loads(v) if v.startswith('"') else v for n, v in pairs if n == "ModelKind"}
            if not kinds <= KINDS:
                found.append(f"{where}: {name} for ModelKind {sorted(kinds)}")
        elif (metric_namespace, name) in AWS_METRICS:
            if names != AWS_METRICS[(metric_namespace, name)]:
                found.append(f"{where}: {metric_namespace} {name} has dimensions {sorted(names)}")
        else:
            found.append(f"{where}: {metric_namespace} {name} is neither ours nor a known AWS metric")
    return found


# --- the contract ----------------------------------------------------------------------------------------
def test_every_published_metric_name_is_written_out() -> None:
    """Given every emit/count call of the layer and the functions
    When its first argument is read
    Then it is the metric's name as a string (or a choice between two), so the names can be checked."""
    unreadable = [f"{file}:{line}" for file, line, names in publishing_calls() if names is None]
    assert unreadable == []
    assert {"RunsFailed", "DriftScore", "LiveAccuracy"} <= published_names()


def test_only_observability_writes_metrics() -> None:
    """Powertools' metric classes are used in observability.py alone (one namespace, one dimension)."""
    users = sorted(
        str(path.relative_to(ROOT))
        for source in SOURCES
        for path in source.rglob("*.py")
        if re.search(r"\b(EphemeralMetrics|add_metric|single_metric)\b", path.read_text())
        and path.name != "observability.py"
    )
    assert users == []


def test_emit_writes_the_namespace_and_the_model_kind_alone(emitted: dict[str, Any]) -> None:
    """emit's EMF: namespace ComprehendActiveLearning, dimension ModelKind only (no service dimension,
    which Powertools adds by default and which the alarms would then not match)."""
    assert _published_dimensions(emitted) == ("ComprehendActiveLearning", {"ModelKind"})
    assert emitted["ModelKind"] == "classifier" and emitted["ContractProbe"] == [1.0]


def test_every_dashboard_metric_is_published(template: dict[str, Any], emitted: dict[str, Any]) -> None:
    namespace, dims = _published_dimensions(emitted)
    named = dashboard_metrics(template)
    assert len(named) > 30
    assert problems(named, published_names(), namespace, dims) == []


def test_every_alarm_metric_is_published(template: dict[str, Any], emitted: dict[str, Any]) -> None:
    namespace, dims = _published_dimensions(emitted)
    named = alarm_metrics(template)
    assert len(named) >= 8
    assert problems(named, published_names(), namespace, dims) == []


def test_every_published_metric_is_on_the_dashboard(template: dict[str, Any]) -> None:
    shown = {name for _, (_, name, _) in dashboard_metrics(template)}
    assert published_names() - shown == set()


def test_the_check_finds_a_metric_nobody_publishes() -> None:
    """The check above can fail: a widget naming an unpublished metric, a wrong dimension, an unknown
    AWS metric are each reported."""
    named = [
        ("w1", ("ComprehendActiveLearning", "NotPublished", (("ModelKind", "classifier"),))),
        ("w2", ("ComprehendActiveLearning", "DriftScore", (("ModelKind", "classifier"), ("service", "x")))),
        ("w3", ("AWS/Lambda", "Throttles", (("FunctionName", "f"),))),
    ]
    found = problems(named, {"DriftScore"}, "ComprehendActiveLearning", {"ModelKind"})
    assert [p.split(":")[0] for p in found] == ["w1", "w2", "w3"]


def test_alarms_notify_the_alarm_topic(template: dict[str, Any]) -> None:
    """Every alarm notifies the alarm topic; its threshold is a parameter (or "any one": 1)."""
    alarms = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert alarms and all(a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms)
    thresholds = [a["Properties"]["Threshold"] for a in alarms]
    assert all(t == 1 or (isinstance(t, dict) and "Ref" in t) for t in thresholds)  # from parameters
