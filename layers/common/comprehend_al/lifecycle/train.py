"""StartModelBuilding and GetModelStatus: train a challenger and wait for it."""

from __future__ import annotations

from comprehend_al.errors import (
    ResourceInUse,
    TrainingFailed,
)
from comprehend_al.lifecycle.deps import (
    Deps,
    next_attempt,
)
from comprehend_al.models import ModelStatus
from comprehend_al.observability import logger
from comprehend_al.state import (
    ModelState,
    Run,
)


def start_model_building(run: Run, deps: Deps) -> ModelState:
    settings = deps.settings
    output_uri = deps.bucket.uri(f"{settings.output_prefix}{run.kind.value}/{run.version}/training/")
    deps.registry.put_model(
        run.kind,
        run.version,
        status=ModelStatus.TRAINING.value,
        dataset_version=run.dataset.version,
        dataset_documents=run.dataset.documents,
        test_version=run.dataset.test_version,
        execution_id=run.execution_id,
        model_arn=None,
    )
    ops = deps.ops(run.kind)
    try:
        model_arn = ops.start_training(
            name=run.model_name,
            version=run.version,
            dataset=run.dataset,
            role_arn=settings.comprehend_role_arn,
            output_uri=output_uri,
            language=settings.language_code,
            tags={"dataset-version": run.dataset.version, "managed-by": settings.resource_prefix},
        )
    except ResourceInUse:
        # a retry after the create succeeded (the Lambda died before it could answer): adopt that training
        adopted = ops.find_version(run.model_name, run.version)
        if adopted is None:
            raise
        logger.info("training created by an earlier attempt: adopted", extra={"model_arn": adopted})
        model_arn = adopted
    deps.registry.update_model(run.kind, run.version, model_arn=model_arn)
    logger.info(
        "training started",
        extra={"kind": run.kind.value, "model_version": run.version, "model_arn": model_arn},
    )
    return ModelState(model_arn=model_arn, version=run.version, status="SUBMITTED")


def get_model_status(run: Run, model: ModelState, deps: Deps) -> ModelState:
    status = deps.ops(run.kind).describe_training(model.model_arn)
    if status.failed:
        raise TrainingFailed(f"{model.model_arn}: {status.status}: {status.message}")
    if status.done:
        deps.registry.update_model(
            run.kind, run.version, status=ModelStatus.TRAINED.value, training_metrics=status.metrics
        )
        return model.model_copy(update={"status": status.status, "done": True, "message": status.message})
    attempt = next_attempt(model.attempt, deps, f"model {model.model_arn}")
    return model.model_copy(update={"status": status.status, "attempt": attempt})
