"""The review gate: an atomic review budget per UTC day and at-most-once review of a text.

Keys in the predictions table:

* ``REVIEW#BUDGET`` / ``<YYYY-MM-DD>``: ``started`` counter of the day (expires two days later);
  a gate with a ``budget_scope`` counts in ``REVIEW#BUDGET#<scope>`` instead (entity review's own budget);
* ``REVIEW#TEXT#<sha256>`` / ``SENT``: the text was sent to review (prediction id, when). No text is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from comprehend_al.aws.errors import aws_call, translate
from comprehend_al.store.dynamo import is_conditional, table

BUDGET_PK = "REVIEW#BUDGET"
TEXT_PK_PREFIX = "REVIEW#TEXT#"


def utc_day(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%d")


class ReviewGate:
    """Atomic review budget per UTC day and at-most-once review of a text, in the predictions table."""

    def __init__(
        self,
        table_name: str,
        resource: Any | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        budget_scope: str = "",
    ) -> None:
        self.table = table(table_name, resource)
        self.clock = clock
        self.budget_pk = f"{BUDGET_PK}#{budget_scope}" if budget_scope else BUDGET_PK

    def claim_text(self, text_hash: str, prediction_id: str) -> bool:
        """Mark the text as sent to review; ``False`` when it already was (by anyone, ever)."""
        try:
            self.table.put_item(
                Item={
                    "pk": TEXT_PK_PREFIX + text_hash,
                    "sk": "SENT",
                    "prediction_id": prediction_id,
                    "sent_at": self.clock().isoformat(),
                },
                ConditionExpression=Attr("pk").not_exists(),
            )
        except ClientError as error:
            if is_conditional(error):
                return False
            raise translate(error, "PutItem review text") from error
        return True

    def release_text(self, text_hash: str, prediction_id: str) -> None:
        """Undo :meth:`claim_text` (the loop was not started after all)."""
        try:
            self.table.delete_item(
                Key={"pk": TEXT_PK_PREFIX + text_hash, "sk": "SENT"},
                ConditionExpression=Attr("prediction_id").eq(prediction_id),
            )
        except ClientError as error:
            if not is_conditional(error):
                raise translate(error, "DeleteItem review text") from error

    def take_budget(self, daily_budget: int) -> bool:
        """Count one human loop against today's budget; ``False`` (nothing counted) when it is spent."""
        if daily_budget <= 0:
            return False
        now = self.clock()
        expires = int((now + timedelta(days=2)).timestamp())
        try:
            self.table.update_item(
                Key={"pk": self.budget_pk, "sk": utc_day(now)},
                UpdateExpression="ADD #started :one SET expires_at = :expires",
                ConditionExpression="attribute_not_exists(#started) OR #started < :budget",
                ExpressionAttributeNames={"#started": "started"},
                ExpressionAttributeValues={":one": 1, ":budget": daily_budget, ":expires": expires},
            )
        except ClientError as error:
            if is_conditional(error):
                return False
            raise translate(error, "UpdateItem review budget") from error
        return True

    def return_budget(self) -> None:
        """Give back one unit of today's budget (the loop was not started after all)."""
        try:
            self.table.update_item(
                Key={"pk": self.budget_pk, "sk": utc_day(self.clock())},
                UpdateExpression="ADD #started :minus",
                ConditionExpression="#started > :zero",
                ExpressionAttributeNames={"#started": "started"},
                ExpressionAttributeValues={":minus": -1, ":zero": 0},
            )
        except ClientError as error:
            if not is_conditional(error):
                raise translate(error, "UpdateItem review budget") from error

    def used_today(self) -> int:
        with aws_call("GetItem review budget"):
            item = self.table.get_item(
                Key={"pk": self.budget_pk, "sk": utc_day(self.clock())}, ConsistentRead=True
            ).get("Item")
        return int(str(item["started"])) if item else 0
