"""Tags on any resource the store holds: TagResource, UntagResource, ListTagsForResource.

Operation modules keep a resource's tags in its record under ``_tags`` (Comprehend's ``[{"Key", "Value"}]``)
and its ARN in a top-level ``…Arn`` field; these operations find the record by ARN across every kind.
"""

from __future__ import annotations

from typing import Any

from local.comprehend.common import require
from local.comprehend.context import ServiceContext
from local.comprehend.errors import ResourceNotFoundException, TooManyTagsException
from local.comprehend.registry import Request, Response, operation
from local.comprehend.store import Record

MAX_TAGS = 50
ARN_FIELDS = ("DocumentClassifierArn", "EntityRecognizerArn", "EndpointArn", "JobArn")


def _find(ctx: ServiceContext, arn: str) -> tuple[str, str]:
    """(kind, key) of the record whose ARN is ``arn``."""
    for kind in ctx.store.kinds():
        if ctx.store.get(kind, arn) is not None:
            return kind, arn
        for record in ctx.store.list(kind):
            if any(record.get(name) == arn for name in ARN_FIELDS):
                key = record.get("JobId") or arn
                return kind, str(key)
    raise ResourceNotFoundException(f"Resource not found: {arn}")


def _tags(record: Record) -> list[dict[str, Any]]:
    return list(record.get("_tags") or [])


@operation("ListTagsForResource")
def list_tags_for_resource(ctx: ServiceContext, request: Request) -> Response:
    arn = require(request, "ResourceArn")
    kind, key = _find(ctx, arn)
    record = ctx.store.get(kind, key) or {}
    return {"ResourceArn": arn, "Tags": _tags(record)}


@operation("TagResource")
def tag_resource(ctx: ServiceContext, request: Request) -> Response:
    arn = require(request, "ResourceArn")
    new = {t["Key"]: t.get("Value", "") for t in require(request, "Tags", list)}
    kind, key = _find(ctx, arn)

    def change(record: Record) -> None:
        merged = {t["Key"]: t.get("Value", "") for t in _tags(record)} | new
        if len(merged) > MAX_TAGS:
            raise TooManyTagsException(f"A resource can have at most {MAX_TAGS} tags")
        record["_tags"] = [{"Key": k, "Value": v} for k, v in merged.items()]

    ctx.store.update(kind, key, change)
    return {}


@operation("UntagResource")
def untag_resource(ctx: ServiceContext, request: Request) -> Response:
    arn = require(request, "ResourceArn")
    drop = set(require(request, "TagKeys", list))
    kind, key = _find(ctx, arn)
    ctx.store.update(kind, key, lambda r: r.update(_tags=[t for t in _tags(r) if t["Key"] not in drop]))
    return {}
