"""ReviewDocuments: documents at rest in the data bucket → entity human loops for the most uncertain ones."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from comprehend_al.entity_at_rest import AtRestRequest, review_documents
from comprehend_al.observability import logger, tracer
from comprehend_al.wiring import at_rest_deps


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = AtRestRequest.model_validate(event)
    return review_documents(request, at_rest_deps()).model_dump(mode="json")
