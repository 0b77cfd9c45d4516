"""Powertools Logger, Tracer and Metrics shared by every function (one place to configure them)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME; never logs document text
tracer = Tracer()  # disabled automatically outside Lambda (and by POWERTOOLS_TRACE_DISABLED)
METRICS_NAMESPACE = "ComprehendActiveLearning"
metrics = Metrics(namespace=METRICS_NAMESPACE)
