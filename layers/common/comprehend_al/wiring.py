"""Wiring: every per-process dependency of the layer is built here, once per cold start.

Handlers ask this module for their dependencies (``lifecycle_deps()``, ``predict_deps()``, ...). Each
factory is cached for the life of the process, as a Lambda execution environment keeps it; :func:`reset`
forgets them all (and Powertools' parameter cache), which is what a cold start does. The offline stack and
the tests call :func:`reset` instead of knowing where caches live.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

import boto3

from comprehend_al.a2i import HumanReview
from comprehend_al.aws.comprehend import CLIENT_CONFIG, ComprehendClient
from comprehend_al.aws.s3 import Bucket
from comprehend_al.aws.sns import Notifier
from comprehend_al.aws.ssm import CachedParameters, ParameterStore
from comprehend_al.aws.stepfunctions import Executions
from comprehend_al.inference import Analyzer, ResultRecorder
from comprehend_al.labels import LabelDeps
from comprehend_al.lifecycle.deps import Deps
from comprehend_al.monitor import MonitorDeps
from comprehend_al.pointers import Pointers
from comprehend_al.predict import PredictDeps
from comprehend_al.settings import Settings
from comprehend_al.store.analyses import AnalysisResults
from comprehend_al.store.label_buffer import LabelBuffer
from comprehend_al.store.live_stats import LiveStats
from comprehend_al.store.predictions import PredictionStore
from comprehend_al.store.registry import Registry
from comprehend_al.store.review_gate import ReviewGate
from comprehend_al.traffic import Traffic

F = TypeVar("F", bound=Callable[[], Any])
_FACTORIES: list[Any] = []


def _once(factory: F) -> F:
    cached = lru_cache(maxsize=1)(factory)
    _FACTORIES.append(cached)
    return cached  # type: ignore[return-value]


def reset() -> None:
    """Forget every cached dependency and parameter: the next call builds them as a cold start would."""
    from aws_lambda_powertools.utilities import parameters

    for factory in _FACTORIES:
        factory.cache_clear()
    parameters.clear_caches()


@_once
def settings() -> Settings:
    """The settings of this process (the environment of a Lambda does not change)."""
    return Settings.from_env()


@_once
def cached_parameters() -> CachedParameters:
    current = settings()
    return CachedParameters(current.parameter_prefix, current.loop.parameter_max_age)


@_once
def lifecycle_deps() -> Deps:
    current = settings()
    return Deps(
        settings=current,
        bucket=Bucket(current.data_bucket),
        registry=Registry(current.registry_table),
        params=ParameterStore(),
        comprehend=ComprehendClient(),
        notifier=Notifier(current.topic_arn),
        executions=Executions(current.state_machine_arn) if current.state_machine_arn else None,
    )


@_once
def label_deps() -> LabelDeps:
    current = settings()
    loop = current.loop
    return LabelDeps(
        settings=current,
        loop=loop,
        buffer=LabelBuffer(loop.label_buffer_table, lock_seconds=loop.flush_lock_seconds),
        bucket=Bucket(current.data_bucket),
        params=cached_parameters(),
        traffic=traffic(),
    )


@_once
def traffic() -> Traffic | None:
    """Live counters in the predictions table (functions that have it); vocabularies from the registry."""
    current = settings()
    if not current.loop.predictions_table:
        return None
    stats = LiveStats(current.loop.predictions_table, ttl_days=current.loop.prediction_ttl_days)
    return Traffic(stats, Registry(current.registry_table))


@_once
def human_review() -> HumanReview:
    return HumanReview()


@_once
def predict_deps() -> PredictDeps:
    current = settings()
    return PredictDeps(
        settings=current,
        loop=current.loop,
        params=cached_parameters(),
        comprehend=boto3.client("comprehend", config=CLIENT_CONFIG),
        store=PredictionStore(current.loop.predictions_table),
        gate=ReviewGate(current.loop.predictions_table),
        review=human_review(),
        labels=label_deps(),
        registry=Registry(current.registry_table),
        traffic=traffic(),
    )


@_once
def analyzer() -> Analyzer:
    return Analyzer(pointers=Pointers(cached_parameters()), comprehend=boto3.client("comprehend"))


@_once
def recorder() -> ResultRecorder:
    analysis = settings().analysis
    results = None
    if analysis.store_results and analysis.results_table:
        results = AnalysisResults(analysis.results_table)
    return ResultRecorder(settings=analysis, results=results)


@_once
def monitor_deps() -> MonitorDeps:
    current = settings()
    loop = current.loop
    return MonitorDeps(
        monitor=current.monitor,
        registry=Registry(current.registry_table),
        pointers=Pointers(cached_parameters()),
        stats=LiveStats(loop.predictions_table, ttl_days=loop.prediction_ttl_days),
        buffer=LabelBuffer(loop.label_buffer_table) if loop.label_buffer_table else None,
        gate=ReviewGate(loop.predictions_table),
        comprehend=boto3.client("comprehend", config=CLIENT_CONFIG),
    )
