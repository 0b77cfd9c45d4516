"""StartTestJob, GetJobStatus, EvaluateModel: the fixed test set through challenger and champion."""

from __future__ import annotations

import json
from typing import Any

from comprehend_al.aws.s3 import get_uri
from comprehend_al.errors import (
    InvalidRequest,
    JobFailed,
)
from comprehend_al.lifecycle.deps import (
    MIN_IMPROVEMENT,
    SELECTION_METRIC,
    Deps,
    champion,
    next_attempt,
    outcomes_key,
)
from comprehend_al.models import ModelKind, ModelStatus, SelectionMetric
from comprehend_al.observability import MetricUnit, emit, logger
from comprehend_al.state import (
    Evaluation,
    ModelState,
    Run,
    TestJob,
    TestState,
)

NO_UNIT = MetricUnit.NoUnit
SCALAR_METRICS_DROPPED = ("confusion_matrix", "per_type", "labels")  # kept in the registry, not the state


def start_test_job(run: Run, model: ModelState, deps: Deps) -> TestState:
    """Run the fixed test set through the challenger, and through the champion when the champion has
    not been evaluated on this test-set version yet (so both are compared on the same data)."""
    data, settings = deps.data(run.kind), deps.settings
    input_uri = data.test_documents_uri(run.dataset)
    targets = [("challenger", model.model_arn, model.version)]
    active = champion(run.kind, deps)
    if active:
        record = deps.registry.model(run.kind, active[1])
        if record is None:  # e.g. SSM pointed by hand at a model this registry never saw
            deps.registry.put_model(
                run.kind,
                active[1],
                model_arn=active[0],
                status=ModelStatus.ACTIVE.value,
                reason="adopted from SSM",
            )
        kept = deps.bucket.head(outcomes_key(deps, run.kind, run.dataset.test_version, active[1]))
        if record is None or run.dataset.test_version not in record.evaluations or kept is None:
            targets.append(("champion", active[0], active[1]))  # also when its outcomes were never kept
    jobs = []
    for role, arn, version in targets:
        output_uri = deps.bucket.uri(
            f"{settings.output_prefix}{run.kind.value}/{run.version}/test-{run.dataset.test_version}/{role}/"
        )
        job_id = deps.ops(run.kind).start_test_job(
            model_arn=arn,
            job_name=f"{run.model_name}-{run.version}-{role}",
            input_uri=input_uri,
            output_uri=output_uri,
            role_arn=settings.comprehend_role_arn,
            language=settings.language_code,
        )
        deps.registry.put_job(
            job_id,
            kind=run.kind.value,
            role=role,
            model_version=version,
            model_arn=arn,
            run_version=run.version,
            test_version=run.dataset.test_version,
            status="SUBMITTED",
        )
        jobs.append(TestJob(role=role, model_arn=arn, version=version, job_id=job_id))
    return TestState(test_version=run.dataset.test_version, jobs=jobs)


def get_job_status(run: Run, test: TestState, deps: Deps) -> TestState:
    jobs = []
    for job in test.jobs:
        if job.status != "COMPLETED":
            status = deps.ops(run.kind).describe_test_job(job.job_id)
            if status.failed:
                deps.registry.update_job(job.job_id, status=status.status, message=status.message)
                raise JobFailed(f"{job.role} test job {job.job_id}: {status.status}: {status.message}")
            if status.status != job.status:
                deps.registry.update_job(job.job_id, status=status.status, output_uri=status.output_uri)
            job = job.model_copy(update={"status": status.status, "output_uri": status.output_uri})
        jobs.append(job)
    if all(j.status == "COMPLETED" for j in jobs):
        return test.model_copy(update={"jobs": jobs, "done": True})
    attempt = next_attempt(test.attempt, deps, "test jobs")
    return test.model_copy(update={"jobs": jobs, "attempt": attempt})


def _scalars(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if k not in SCALAR_METRICS_DROPPED}


def selection_config(kind: ModelKind, deps: Deps) -> tuple[SelectionMetric, float]:
    metric = (
        deps.params.get(deps.param(None, SELECTION_METRIC)) or deps.settings.default_selection_metric.value
    )
    improvement = deps.params.get(deps.param(None, MIN_IMPROVEMENT))
    try:
        return SelectionMetric(metric), float(improvement) if improvement else deps.settings.min_improvement
    except ValueError as error:
        raise InvalidRequest(f"SSM {deps.param(None, SELECTION_METRIC)}: {error}") from error


def evaluate_model(run: Run, test: TestState, deps: Deps) -> Evaluation:
    """Score each completed job's predictions against the gold test set; store them in the registry."""
    data = deps.data(run.kind)
    results: dict[str, dict[str, Any]] = {}
    for job in test.jobs:
        output = get_uri(job.output_uri, deps.bucket.client)
        metrics = data.evaluate(run.dataset, output)
        deps.registry.add_evaluation(run.kind, job.version, test.test_version, metrics)
        baseline = data.baseline(output)  # the drift monitor compares live traffic with it
        if baseline is not None:
            deps.registry.update_model(run.kind, job.version, baseline=baseline)
        results[job.role] = _scalars(metrics)
        outcomes = data.outcomes(run.dataset, output)  # per document: what a paired comparison needs
        deps.bucket.put(
            outcomes_key(deps, run.kind, test.test_version, job.version),
            json.dumps(outcomes.to_json()).encode(),
            content_type="application/json",
        )
    active = champion(run.kind, deps)
    champion_metrics = results.get("champion")
    if active and champion_metrics is None:
        record = deps.registry.model(run.kind, active[1])
        stored = record.evaluations.get(test.test_version) if record else None
        champion_metrics = _scalars(stored) if stored else None
    metric, _ = selection_config(run.kind, deps)
    emit("ChallengerScore", run.kind.value, float(results["challenger"].get(metric.value) or 0), NO_UNIT)
    if champion_metrics and champion_metrics.get(metric.value) is not None:
        emit("ChampionScore", run.kind.value, float(champion_metrics[metric.value]), NO_UNIT)
    logger.info(
        "evaluated",
        extra={
            "kind": run.kind.value,
            "model_version": run.version,
            "challenger": results["challenger"].get(metric.value),
            "champion": (champion_metrics or {}).get(metric.value),
        },
    )
    return Evaluation(
        test_version=test.test_version,
        metric=metric.value,
        challenger=results["challenger"],
        champion=champion_metrics,
        champion_version=active[1] if active else None,
    )
