"""The predictions table: one item per prediction, and the review item of a prediction sent to review.

* ``PRED#<id>`` / ``PREDICTION``: model version, label, scores, time, ``expires_at`` (TTL); the text only
  when the stack keeps prediction text.
* ``PRED#<id>`` / ``REVIEW``: a prediction selected for review: its text, the label choices, the loop.

The review gate (:mod:`comprehend_al.store.review_gate`) keeps its budget and text marks in the same table.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key

from comprehend_al.aws.errors import aws_call
from comprehend_al.store.dynamo import from_dynamo, table, to_dynamo


class PredictionStore:
    def __init__(self, table_name: str, resource: Any | None = None) -> None:
        self.table = table(table_name, resource)

    def put(self, item: dict[str, Any]) -> None:
        with aws_call("PutItem prediction"):
            self.table.put_item(Item=to_dynamo(item))

    def get(self, prediction_id: str) -> dict[str, Any] | None:
        """The prediction, with ``text`` from the review item when only that one kept it."""
        with aws_call("Query prediction"):
            items = self.table.query(
                KeyConditionExpression=Key("pk").eq(f"PRED#{prediction_id}"), ConsistentRead=True
            ).get("Items", [])
        by_sk = {str(i["sk"]): from_dynamo(i) for i in items}
        prediction = by_sk.get("PREDICTION")
        if prediction is None:
            return None
        review = by_sk.get("REVIEW") or {}
        if "text" not in prediction and "text" in review:
            prediction["text"] = review["text"]
        return prediction
