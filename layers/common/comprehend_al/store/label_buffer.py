"""The label buffer table: labelled rows waiting to become one training upload.

Keys of the label-buffer table:

* ``ROW`` / ``<row id>``: a pending row (``labels``, ``text``, ``source``, ``created_at``, ``line`` for a
  language line's; ``claim`` and ``claimed_at`` while a flush holds it). Row ids are deterministic where a
  retry could repeat an append (``review-<prediction id>``, ``feedback-<prediction id>``,
  ``feedback-text-<hash>``): a redelivered event rewrites the same item, and a later correction of the same
  prediction replaces the earlier one.
* ``FLUSH`` / ``LOCK``: one flusher at a time (with an expiry, so a crashed flusher cannot block).

Concurrency: a flush takes the lock, claims each row with a conditional update (unclaimed, or claimed by
a flusher whose claim went stale), writes the CSV of exactly the rows it claimed (their values as
returned by the claim), then deletes each row on condition that it still holds the claim. A row
changed after its claim loses the claim and stays pending; no row is lost. A crash between the S3 write
and the deletes leaves claimed rows that a later flush re-sends once the claim is stale: at-least-once,
and the lifecycle's merge drops the identical rows as duplicates.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from comprehend_al.aws.errors import aws_call, translate
from comprehend_al.aws.s3 import Bucket
from comprehend_al.datasets.classification import Row, normalize_text, to_csv
from comprehend_al.observability import logger
from comprehend_al.store.dynamo import is_conditional, table

ROW_PK = "ROW"
LOCK_KEY = {"pk": "FLUSH", "sk": "LOCK"}
MAX_ROWS_PER_UPLOAD = 10_000  # one flush writes at most this many rows; the rest wait for the next one


# --- rows -------------------------------------------------------------------------------------------
Source = Literal["review", "feedback"]


class LabelRow(BaseModel):
    """One labelled document waiting in the buffer."""

    model_config = ConfigDict(frozen=True)

    row_id: str
    labels: tuple[str, ...]
    text: str
    source: Source
    prediction_id: str | None = None
    model_version: str | None = None
    created_at: str = ""
    line: str = ""  # the model line the prediction came from (a language); "" the default line

    def as_training_row(self) -> Row:
        return Row(labels=self.labels, text=self.text)


def upload_key(prefix: str, now: datetime, rows: int) -> str:
    """``train/new/feedback-<UTC timestamp>-<rows>.csv`` (microseconds keep two flushes apart)."""
    return f"{prefix}feedback-{now.astimezone(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{rows}.csv"


def latest_per_text(rows: Iterable[LabelRow]) -> list[LabelRow]:
    """One row per normalised text, the most recent label winning, oldest first.

    A review and a user's correction of the same text may disagree; one upload must not hold the same
    text with two label sets (``parse_upload`` refuses that: which one is right?). The newer one wins,
    as it does when the lifecycle merges a later upload.
    """
    latest: dict[str, LabelRow] = {}
    for row in sorted(rows, key=lambda r: (r.created_at, r.row_id)):
        key = normalize_text(row.text)
        latest.pop(key, None)
        latest[key] = row
    return list(latest.values())


def csv_of(rows: Iterable[LabelRow], *, delimiter: str = "|") -> bytes:
    """The upload's CSV (one row per text, oldest first): exactly what ``parse_upload`` accepts."""
    return to_csv((r.as_training_row() for r in latest_per_text(rows)), delimiter=delimiter)


@dataclass(frozen=True)
class FlushResult:
    key: str | None  # the (first) upload written, or None
    rows: int
    reason: str  # "written", "below_minimum", "locked", "empty"
    keys: tuple[str, ...] = ()  # every upload written: one per model line the rows came from

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "rows": self.rows, "reason": self.reason, "keys": list(self.keys)}


# --- the buffer (DynamoDB) ---------------------------------------------------------------------------
@dataclass
class LabelBuffer:
    table_name: str
    resource: Any | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    lock_seconds: int = 300

    def __post_init__(self) -> None:
        self.table = table(self.table_name, self.resource)

    # append
    def append(self, rows: Iterable[LabelRow]) -> int:
        """Put the rows (a row id already pending is replaced: the latest label wins); returns how many."""
        count = 0
        now = self.clock().isoformat()
        with (
            aws_call("BatchWriteItem label buffer"),
            self.table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch,
        ):
            for row in rows:
                item = {
                    "pk": ROW_PK,
                    "sk": row.row_id,
                    "labels": list(row.labels),
                    "text": row.text,
                    "source": row.source,
                    "created_at": row.created_at or now,
                }
                if row.prediction_id:
                    item["prediction_id"] = row.prediction_id
                if row.model_version:
                    item["model_version"] = row.model_version
                if row.line:
                    item["line"] = row.line
                batch.put_item(Item=item)
                count += 1
        return count

    # read
    def _rows(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(ROW_PK), "ConsistentRead": True}
        with aws_call("Query label buffer"):
            while True:
                page = self.table.query(**kwargs)
                items.extend(page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    return items
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _stale_before(self) -> str:
        return (self.clock() - timedelta(seconds=self.lock_seconds)).isoformat()

    def _claimable(self, item: dict[str, Any]) -> bool:
        return "claim" not in item or str(item.get("claimed_at", "")) < self._stale_before()

    def pending(self) -> list[LabelRow]:
        """Rows no live flush holds, oldest first."""
        rows = [_row(i) for i in self._rows() if self._claimable(i)]
        return sorted(rows, key=lambda r: (r.created_at, r.row_id))

    def pending_count(self) -> int:
        return sum(1 for i in self._rows() if self._claimable(i))

    # flush
    def flush(
        self, bucket: Bucket, *, prefix_of: Callable[[str], str], min_rows: int = 1, delimiter: str = "|"
    ) -> FlushResult:
        """Write the pending rows when there are at least ``min_rows`` of them: one upload per model line
        they came from, under ``prefix_of(line)`` (the line's upload prefix, where the lifecycle takes it)."""
        flush_id = uuid.uuid4().hex
        if not self._lock(flush_id):
            return FlushResult(None, 0, "locked")
        try:
            candidates = self.pending()
            if not candidates:
                return FlushResult(None, 0, "empty")
            if len(candidates) < min_rows:
                return FlushResult(None, len(candidates), "below_minimum")
            claimed = [
                row
                for row in (self._claim(r.row_id, flush_id) for r in candidates[:MAX_ROWS_PER_UPLOAD])
                if row
            ]
            if len(claimed) < min(min_rows, MAX_ROWS_PER_UPLOAD) or not claimed:
                for row in claimed:
                    self._unclaim(row.row_id, flush_id)
                return FlushResult(None, len(claimed), "below_minimum")
            by_line: dict[str, list[LabelRow]] = {}
            for row in claimed:
                by_line.setdefault(row.line, []).append(row)
            keys: list[str] = []
            written = 0
            for line, rows in sorted(by_line.items()):  # the default line ("") first
                kept = latest_per_text(rows)
                key = upload_key(prefix_of(line), self.clock(), len(kept))
                bucket.put(key, csv_of(kept, delimiter=delimiter), content_type="text/csv")
                keys.append(key)
                written += len(kept)
            for row in claimed:  # superseded rows (same text, older label) go too
                self._delete(row.row_id, flush_id)
            logger.info(
                "label buffer flushed", extra={"keys": keys, "rows": written, "claimed": len(claimed)}
            )
            return FlushResult(keys[0], written, "written", tuple(keys))
        finally:
            self._unlock(flush_id)

    def _claim(self, row_id: str, flush_id: str) -> LabelRow | None:
        now = self.clock().isoformat()
        try:
            response = self.table.update_item(
                Key={"pk": ROW_PK, "sk": row_id},
                UpdateExpression="SET claim = :claim, claimed_at = :now",
                ConditionExpression=Attr("pk").exists()
                & (Attr("claim").not_exists() | Attr("claimed_at").lt(self._stale_before())),
                ExpressionAttributeValues={":claim": flush_id, ":now": now},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if is_conditional(error):
                return None  # taken by another flush, or gone
            raise translate(error, "UpdateItem claim label row") from error
        return _row(response["Attributes"])

    def _unclaim(self, row_id: str, flush_id: str) -> None:
        try:
            self.table.update_item(
                Key={"pk": ROW_PK, "sk": row_id},
                UpdateExpression="REMOVE claim, claimed_at",
                ConditionExpression=Attr("claim").eq(flush_id),
            )
        except ClientError as error:
            if not is_conditional(error):
                raise translate(error, "UpdateItem unclaim label row") from error

    def _delete(self, row_id: str, flush_id: str) -> None:
        try:
            self.table.delete_item(
                Key={"pk": ROW_PK, "sk": row_id}, ConditionExpression=Attr("claim").eq(flush_id)
            )
        except ClientError as error:
            if is_conditional(error):
                # replaced after the claim (a newer label for the same row id): it stays pending
                logger.info("label row changed during flush: kept for the next one", extra={"row": row_id})
                return
            raise translate(error, "DeleteItem label row") from error

    def _lock(self, flush_id: str) -> bool:
        now = self.clock()
        try:
            self.table.put_item(
                Item={
                    **LOCK_KEY,
                    "holder": flush_id,
                    "expires_at": int((now + timedelta(seconds=self.lock_seconds)).timestamp()),
                },
                ConditionExpression=Attr("pk").not_exists() | Attr("expires_at").lt(int(now.timestamp())),
            )
        except ClientError as error:
            if is_conditional(error):
                return False
            raise translate(error, "PutItem flush lock") from error
        return True

    def _unlock(self, flush_id: str) -> None:
        try:
            self.table.delete_item(Key=LOCK_KEY, ConditionExpression=Attr("holder").eq(flush_id))
        except ClientError as error:
            if not is_conditional(error):
                raise translate(error, "DeleteItem flush lock") from error


def _row(item: dict[str, Any]) -> LabelRow:
    return LabelRow(
        row_id=str(item["sk"]),
        labels=tuple(str(label) for label in item.get("labels", [])),
        text=str(item["text"]),
        source=item.get("source", "feedback"),
        prediction_id=item.get("prediction_id"),
        model_version=item.get("model_version"),
        created_at=str(item.get("created_at", "")),
        line=str(item.get("line", "")),
    )
