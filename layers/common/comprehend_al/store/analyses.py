"""The analysis results table: one item per stored ``/analyze`` result, keyed by ``analysis_id`` (TTL)."""

from __future__ import annotations

from typing import Any

from comprehend_al.store.dynamo import table, to_dynamo


class AnalysisResults:
    def __init__(self, table_name: str, resource: Any | None = None) -> None:
        self.table = table(table_name, resource)

    def put(self, item: dict[str, Any]) -> None:
        """Write one result (errors propagate: the caller decides that storage is best effort)."""
        self.table.put_item(Item=to_dynamo(item))
