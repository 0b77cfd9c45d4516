"""What live traffic looked like, kept as counters in the predictions table (no text).

Keys in the predictions table:

* ``LIVE#<kind>#<model version>`` / ``<YYYY-MM-DDTHH>``: one item per model version and UTC hour, whose
  counters ``/classify`` adds to (``predictions``, ``label:<name>``, ``confidence:<bin>``, ``length:<bin>``,
  ``characters``, ``tokens``, ``oov_tokens``) and the human labels add to (``labelled``: a review answer or a
  correction of a prediction of this version, ``agreed``: it named the label the model predicted). A
  window of hours is one Query: no scan of the predictions, whatever their number.
* ``REVIEW#OPEN`` / ``<prediction id>``: a human loop started and not answered yet (``created_at``).
* ``DRIFT#<kind>`` / ``<ISO time>``: the monitor's report of that run (for the dashboards).

Every item has ``expires_at`` (TTL) like the predictions themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Key

from comprehend_al.aws.errors import aws_call
from comprehend_al.store.dynamo import from_dynamo, table, to_dynamo

OPEN_REVIEWS = "REVIEW#OPEN"


def hour(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H")


class LiveStats:
    def __init__(self, table_name: str, resource: Any | None = None, *, ttl_days: int = 30) -> None:
        self.table = table(table_name, resource)
        self.ttl_days = ttl_days

    def _expires(self, now: datetime) -> int:
        return int((now + timedelta(days=self.ttl_days)).timestamp())

    def _add(self, pk: str, sk: str, counters: dict[str, int], now: datetime) -> None:
        names = {f"#c{i}": name for i, name in enumerate(counters)}
        values: dict[str, Any] = {f":c{i}": value for i, value in enumerate(counters.values())}
        values[":expires"] = self._expires(now)
        with aws_call("UpdateItem live counters"):
            self.table.update_item(
                Key={"pk": pk, "sk": sk},
                UpdateExpression="ADD "
                + ", ".join(f"#c{i} :c{i}" for i in range(len(counters)))
                + " SET expires_at = :expires",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )

    # --- counters ------------------------------------------------------------------------------------
    def record_prediction(self, kind: str, version: str, now: datetime, counters: dict[str, int]) -> None:
        """Add one prediction's counters (``predictions``, ``label:<name>``, ``confidence:<bin>``, ...)."""
        self._add(f"LIVE#{kind}#{version}", hour(now), counters, now)

    def record_label(self, kind: str, version: str, now: datetime, *, agreed: bool) -> None:
        """A human gave a label to a prediction of ``version``: did it agree with the model?"""
        self._add(f"LIVE#{kind}#{version}", hour(now), {"labelled": 1, "agreed": int(agreed)}, now)

    def window(self, kind: str, version: str, since: datetime) -> list[dict[str, Any]]:
        """The hourly counter items of ``version`` from the hour of ``since`` on."""
        condition = Key("pk").eq(f"LIVE#{kind}#{version}") & Key("sk").gte(hour(since))
        return self._query(condition, "Query live counters")

    # --- open reviews --------------------------------------------------------------------------------
    def open_review(self, prediction_id: str, now: datetime, ttl_days: int) -> None:
        item = {
            "pk": OPEN_REVIEWS,
            "sk": prediction_id,
            "created_at": now.isoformat(),
            "expires_at": int((now + timedelta(days=ttl_days)).timestamp()),
        }
        with aws_call("PutItem open review"):
            self.table.put_item(Item=item)

    def close_review(self, prediction_id: str) -> None:
        with aws_call("DeleteItem open review"):
            self.table.delete_item(Key={"pk": OPEN_REVIEWS, "sk": prediction_id})

    def open_reviews(self, now: datetime) -> list[datetime]:
        """When each unanswered human loop started (expired ones, which A2I also gave up on, left out)."""
        items = self._query(Key("pk").eq(OPEN_REVIEWS), "Query open reviews")
        started = [datetime.fromisoformat(str(i["created_at"])) for i in items]
        return [
            s for s, i in zip(started, items, strict=True) if int(i.get("expires_at", 0)) > now.timestamp()
        ]

    # --- reports -------------------------------------------------------------------------------------
    def put_report(self, kind: str, now: datetime, report: dict[str, Any]) -> None:
        item = {"pk": f"DRIFT#{kind}", "sk": now.astimezone(UTC).isoformat(), **report}
        item["expires_at"] = self._expires(now)
        with aws_call("PutItem drift report"):
            self.table.put_item(Item=to_dynamo(item))

    def reports(self, kind: str, since: datetime) -> list[dict[str, Any]]:
        condition = Key("pk").eq(f"DRIFT#{kind}") & Key("sk").gte(since.astimezone(UTC).isoformat())
        return self._query(condition, "Query drift reports")

    def _query(self, condition: Any, what: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition}
        with aws_call(what):
            while True:
                page = self.table.query(**kwargs)
                items.extend(from_dynamo(i) for i in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    return items
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
