"""S3 helpers: URIs, reading objects and prefixes, writing ``output.tar.gz`` archives."""

from __future__ import annotations

import io
import tarfile
from typing import Any
from urllib.parse import urlparse

from local.comprehend.errors import InvalidRequestException


class S3ReadError(Exception):
    """An S3 object or prefix could not be read (missing bucket / key, access denied)."""


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` → ``(bucket, key)``; InvalidRequestException when not an S3 URI."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise InvalidRequestException(f"Invalid S3Uri: {uri!r}. It must be of the form s3://bucket/key")
    return parsed.netloc, parsed.path.lstrip("/")


def join_uri(prefix: str, *parts: str) -> str:
    return "/".join([prefix.rstrip("/"), *(p.strip("/") for p in parts)])


def read_object(s3: Any, uri: str) -> bytes:
    bucket, key = parse_s3_uri(uri)
    try:
        return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except Exception as exc:  # botocore ClientError and friends: reported in the resource's Message
        raise S3ReadError(f"Unable to read {uri}: {exc}") from exc


def list_objects(s3: Any, uri: str) -> list[str]:
    """Keys of the single object ``uri`` names, or of every object under the prefix ``uri``."""
    bucket, prefix = parse_s3_uri(uri)
    keys: list[str] = []
    try:
        paginator = s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(obj["Key"] for obj in page.get("Contents", []) if not obj["Key"].endswith("/"))
    except Exception as exc:
        raise S3ReadError(f"Unable to list {uri}: {exc}") from exc
    if prefix in keys:  # the URI names one object exactly
        return [prefix]
    return sorted(keys)


def write_tar_gz(s3: Any, uri: str, files: dict[str, bytes]) -> None:
    """Write an ``output.tar.gz`` holding ``files`` (archive name → content) to ``uri``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(content))
    bucket, key = parse_s3_uri(uri)
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
