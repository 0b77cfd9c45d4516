"""The review gate: the buffer of uncertain predictions, an atomic review budget per UTC day and
at-most-once review of a text.

Keys in the predictions table:

* ``REVIEW#BUFFER#<YYYY-MM-DD>`` / ``<time>#<prediction id>``: an uncertain prediction waiting for the
  next selection (``SelectReview``): text, scores, model version; expires ``BUFFER_DAYS`` later;
* ``REVIEW#SELECTION`` / ``LAST``: when the last selection ran (it considers what was buffered since);
* ``REVIEW#BUDGET`` / ``<YYYY-MM-DD>``: ``started`` counter of the day (expires two days later);
  a gate with a ``budget_scope`` counts in ``REVIEW#BUDGET#<scope>`` instead (entity review's own budget);
* ``REVIEW#TEXT#<sha256>`` / ``SENT``: the text was sent to review (prediction id, when). No text is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from comprehend_al.aws.errors import aws_call, translate
from comprehend_al.store.dynamo import from_dynamo, is_conditional, table, to_dynamo

BUDGET_PK = "REVIEW#BUDGET"
TEXT_PK_PREFIX = "REVIEW#TEXT#"
BUFFER_PK_PREFIX = "REVIEW#BUFFER#"
SELECTION_KEY = {"pk": "REVIEW#SELECTION", "sk": "LAST"}
BUFFER_DAYS = 2  # a buffered prediction waits at most this long (the selection reads this many days back)


def utc_day(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%d")


def stamp(now: datetime) -> str:
    """A sortable UTC time (fixed width: string order is time order)."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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

    def buffer(
        self,
        prediction_id: str,
        text: str,
        classes: list[dict[str, Any]],
        model_version: str | None,
        line: str = "",
    ) -> None:
        """Keep an uncertain prediction (its text, scores and model line) for the next selection."""
        now = self.clock()
        item = {
            "pk": BUFFER_PK_PREFIX + utc_day(now),
            "sk": f"{stamp(now)}#{prediction_id}",
            "prediction_id": prediction_id,
            "text": text,
            "classes": classes,
            "model_version": model_version,
            "created_at": now.isoformat(),
            "expires_at": int((now + timedelta(days=BUFFER_DAYS)).timestamp()),
        }
        if line:
            item["line"] = line
        with aws_call("PutItem review buffer"):
            self.table.put_item(Item=to_dynamo(item))

    def buffered(self, limit: int) -> list[dict[str, Any]]:
        """What was buffered since the last selection (at most ``BUFFER_DAYS`` back), oldest first, at most
        ``limit`` (the newest when there are more)."""
        now = self.clock()
        with aws_call("GetItem review selection"):
            last = self.table.get_item(Key=SELECTION_KEY, ConsistentRead=True).get("Item") or {}
        since = str(last.get("ran_at") or "")
        found: list[dict[str, Any]] = []
        for back in range(BUFFER_DAYS, -1, -1):
            day = Key("pk").eq(BUFFER_PK_PREFIX + utc_day(now - timedelta(days=back)))
            kwargs: dict[str, Any] = {"KeyConditionExpression": day & Key("sk").gt(since) if since else day}
            while True:
                with aws_call("Query review buffer"):
                    page = self.table.query(**kwargs)
                found.extend(from_dynamo(i) for i in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found[-limit:] if limit > 0 else []

    def selection_ran(self, at: datetime) -> None:
        """Record that a selection considered everything buffered up to ``at``."""
        with aws_call("PutItem review selection"):
            self.table.put_item(Item={**SELECTION_KEY, "ran_at": stamp(at) + "~"})

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
