"""StartTestJob: run the fixed test set through the challenger (and the champion if needed)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from comprehend_al.lifecycle import start_test_job
from comprehend_al.lines import for_line
from comprehend_al.observability import logger, tracer
from comprehend_al.state import ModelState, Run
from comprehend_al.wiring import lifecycle_deps


@logger.inject_lambda_context(correlation_id_path="run.execution_id")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = Run.model_validate(event["run"])
    logger.append_keys(kind=run.kind.value, model_version=run.version)
    result = start_test_job(
        run, ModelState.model_validate(event["model"]), for_line(lifecycle_deps(), run.line)
    )
    return result.model_dump(mode="json")
