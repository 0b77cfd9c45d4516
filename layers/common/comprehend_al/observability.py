"""Powertools Logger, Tracer and Metrics shared by every function (one place to configure them).

Custom metrics go through :func:`emit` only: namespace ``METRICS_NAMESPACE``, one dimension ``ModelKind``.
Call it with the metric's name written out (``emit("RowsAdded", kind, n)``): the contract test
``tests/contract/test_dashboard.py`` reads those names from the source and checks that every metric the
template's dashboard and alarms name is one the code publishes.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME; never logs document text
tracer = Tracer()  # disabled automatically outside Lambda (and by POWERTOOLS_TRACE_DISABLED)
METRICS_NAMESPACE = "ComprehendActiveLearning"
METRIC_DIMENSION = "ModelKind"
metrics = Metrics(namespace=METRICS_NAMESPACE)

__all__ = ["METRICS_NAMESPACE", "MetricUnit", "emit", "logger", "metrics", "tracer"]


def emit(name: str, kind: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    """One CloudWatch metric (EMF, written at once) with the model kind as its dimension."""
    # its own dimensions, unlike the shared Metrics; service="" keeps Powertools from adding a "service"
    # dimension (POWERTOOLS_SERVICE_NAME): the alarms and the dashboard name ModelKind alone
    metric = EphemeralMetrics(namespace=METRICS_NAMESPACE, service="")
    metric.add_dimension(name=METRIC_DIMENSION, value=str(kind))
    metric.add_metric(name=name, unit=unit, value=value)
    metric.flush_metrics()
