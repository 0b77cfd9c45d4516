"""S3 helpers: URIs, reads and writes with typed errors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3

from comprehend_al.aws.errors import aws_call
from comprehend_al.errors import ResourceNotFound


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def split_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an S3 URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    version_id: str | None

    @property
    def version(self) -> str:
        """A stable identifier of this object's content: the version id, or the ETag without versioning."""
        return self.version_id if self.version_id and self.version_id != "null" else self.etag


class Bucket:
    def __init__(self, name: str, client: Any | None = None) -> None:
        self.name = name
        self.client = client or boto3.client("s3")

    def uri(self, key: str) -> str:
        return s3_uri(self.name, key)

    def get(self, key: str, *, version_id: str | None = None) -> bytes:
        kwargs: dict[str, Any] = {"Bucket": self.name, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        with aws_call(f"GetObject s3://{self.name}/{key}"):
            return bytes(self.client.get_object(**kwargs)["Body"].read())

    def put(self, key: str, body: bytes, *, content_type: str = "text/csv") -> ObjectInfo:
        with aws_call(f"PutObject s3://{self.name}/{key}"):
            response = self.client.put_object(Bucket=self.name, Key=key, Body=body, ContentType=content_type)
        return ObjectInfo(key, len(body), response.get("ETag", "").strip('"'), response.get("VersionId"))

    def head(self, key: str) -> ObjectInfo | None:
        try:
            with aws_call(f"HeadObject s3://{self.name}/{key}"):
                response = self.client.head_object(Bucket=self.name, Key=key)
        except ResourceNotFound:
            return None
        return ObjectInfo(
            key, int(response["ContentLength"]), response["ETag"].strip('"'), response.get("VersionId")
        )

    def copy(self, source_key: str, target_key: str, *, version_id: str | None = None) -> None:
        source: dict[str, Any] = {"Bucket": self.name, "Key": source_key}
        if version_id:
            source["VersionId"] = version_id
        with aws_call(f"CopyObject s3://{self.name}/{source_key}"):
            self.client.copy_object(Bucket=self.name, Key=target_key, CopySource=source)  # type: ignore[arg-type]

    def delete(self, key: str, *, version_id: str | None = None) -> None:
        """Delete ``key`` (a delete marker when versioned), or remove exactly ``version_id`` of it, which
        leaves a newer version of the same key in place."""
        kwargs: dict[str, Any] = {"Bucket": self.name, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        with aws_call(f"DeleteObject s3://{self.name}/{key}"):
            self.client.delete_object(**kwargs)

    def move(self, source_key: str, target_key: str, *, version_id: str | None = None) -> None:
        """Move one version of ``source_key`` (the current one without ``version_id``)."""
        self.copy(source_key, target_key, version_id=version_id)
        self.delete(source_key, version_id=version_id)

    def versions(self, key: str) -> list[ObjectInfo]:
        """Every version of ``key`` that still exists (delete markers aside), oldest first."""
        found: list[tuple[str, ObjectInfo]] = []
        with aws_call(f"ListObjectVersions s3://{self.name}/{key}"):
            for page in self.client.get_paginator("list_object_versions").paginate(
                Bucket=self.name, Prefix=key
            ):
                for item in page.get("Versions", []):
                    if item["Key"] == key:
                        info = ObjectInfo(
                            key, int(item["Size"]), item["ETag"].strip('"'), item.get("VersionId")
                        )
                        found.append((str(item["LastModified"].isoformat()), info))
        return [info for _, info in sorted(found, key=lambda pair: pair[0])]

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        with aws_call(f"ListObjectsV2 s3://{self.name}/{prefix}"):
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.name, Prefix=prefix
            ):
                for item in page.get("Contents", []):
                    yield ObjectInfo(item["Key"], int(item["Size"]), item["ETag"].strip('"'), None)


def get_uri(uri: str, client: Any | None = None) -> bytes:
    bucket, key = split_uri(uri)
    return Bucket(bucket, client).get(key)
