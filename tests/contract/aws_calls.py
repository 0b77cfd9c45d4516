"""Least privilege, measured: which AWS calls each principal makes, and whether its IAM policy allows them.

:class:`Recorder` wraps botocore's ``BaseClient._make_api_call`` (every boto3 call of this process goes
through it, whatever session or client made it) and turns each call into the IAM authorizations AWS
checks for it (:func:`requirements`): action, resource ARN and the condition keys our policies use. A
call is attributed to the principal that is running: the function whose handler this thread is in
(:meth:`Recorder.acting_as`, wrapped around the offline router's invoke), or the principal a client was
made for (:meth:`Recorder.tag`: the local Comprehend service reading data as the data access role, the
local A2I runtime writing as the flow role). Calls of the test itself (setting up data, reading results)
belong to no principal and are not recorded.

:func:`allowed` evaluates the identity policies (Allow and Deny statements, ``*``/``?`` wildcards in
actions and resources, ``StringEquals``/``StringLike``/``ArnLike``/``ArnEquals`` conditions) the way IAM
does for the cases this application has. An operation without a mapping fails the recording, so a new
kind of call cannot slip through unchecked.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient

Params = Mapping[str, Any]


@dataclass(frozen=True)
class Requirement:
    """One authorization AWS checks: ``action`` on ``resource``, with these request condition keys."""

    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Call:
    principal: str  # logical id of the function or role in template.yaml
    operation: str  # "s3.GetObject"
    requirements: tuple[Requirement, ...]


class UnmappedOperation(LookupError):
    """A recorded call whose IAM authorization :func:`requirements` does not know yet."""


# --- API call → IAM authorizations ---------------------------------------------------------------------
@dataclass(frozen=True)
class Where:
    region: str
    account: str
    partition: str = "aws"

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account if account else ''}:{resource}"
        )


def _s3(operation: str, p: Params, where: Where) -> list[Requirement]:
    def obj(bucket: str, key: str) -> str:
        return f"arn:{where.partition}:s3:::{bucket}/{key}"

    bucket = str(p.get("Bucket", ""))
    versioned = "VersionId" in p
    if operation in {"GetObject", "HeadObject"}:
        action = "s3:GetObjectVersion" if versioned else "s3:GetObject"
        return [Requirement(action, obj(bucket, p["Key"]))]
    if operation == "PutObject":
        return [Requirement("s3:PutObject", obj(bucket, p["Key"]))]
    if operation == "DeleteObject":
        action = "s3:DeleteObjectVersion" if versioned else "s3:DeleteObject"
        return [Requirement(action, obj(bucket, p["Key"]))]
    if operation == "CopyObject":
        source = p["CopySource"]
        if isinstance(source, str):
            src_bucket, _, src_key = source.lstrip("/").partition("/")
            src_key, _, version = src_key.partition("?versionId=")
        else:
            src_bucket, src_key, version = source["Bucket"], source["Key"], source.get("VersionId", "")
        read = "s3:GetObjectVersion" if version else "s3:GetObject"
        return [
            Requirement(read, obj(src_bucket, src_key)),
            Requirement("s3:PutObject", obj(bucket, p["Key"])),
        ]
    if operation in {"ListObjectsV2", "ListObjects"}:
        prefix = (("s3:prefix", str(p.get("Prefix", ""))),)
        return [Requirement("s3:ListBucket", f"arn:{where.partition}:s3:::{bucket}", prefix)]
    if operation == "ListObjectVersions":
        prefix = (("s3:prefix", str(p.get("Prefix", ""))),)
        return [Requirement("s3:ListBucketVersions", f"arn:{where.partition}:s3:::{bucket}", prefix)]
    raise UnmappedOperation(f"s3.{operation}")


_DYNAMODB_ITEM = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def _dynamodb(operation: str, p: Params, where: Where) -> list[Requirement]:
    def table(name: str, index: str | None = None) -> str:
        return where.arn("dynamodb", f"table/{name}" + (f"/index/{index}" if index else ""))

    if operation in {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "DescribeTable"}:
        return [Requirement(f"dynamodb:{operation}", table(p["TableName"]))]
    if operation in {"Query", "Scan"}:
        return [Requirement(f"dynamodb:{operation}", table(p["TableName"], p.get("IndexName")))]
    if operation in {"BatchWriteItem", "BatchGetItem"}:
        return [Requirement(f"dynamodb:{operation}", table(name)) for name in p["RequestItems"]]
    if operation == "TransactWriteItems":
        return [
            Requirement(f"dynamodb:{_DYNAMODB_ITEM[kind]}", table(body["TableName"]))
            for item in p["TransactItems"]
            for kind, body in item.items()
        ]
    raise UnmappedOperation(f"dynamodb.{operation}")


def _ssm(operation: str, p: Params, where: Where) -> list[Requirement]:
    def parameter(name: str) -> str:
        return where.arn("ssm", "parameter" + (name if name.startswith("/") else f"/{name}"))

    if operation in {"GetParameter", "PutParameter", "DeleteParameter"}:
        return [Requirement(f"ssm:{operation}", parameter(p["Name"]))]
    if operation == "GetParameters":
        return [Requirement("ssm:GetParameters", parameter(name)) for name in p["Names"]]
    if operation == "GetParametersByPath":
        return [Requirement("ssm:GetParametersByPath", parameter(p["Path"]))]
    raise UnmappedOperation(f"ssm.{operation}")


def _sns(operation: str, p: Params, where: Where) -> list[Requirement]:
    if operation == "Publish":
        return [Requirement("sns:Publish", p.get("TopicArn") or p["TargetArn"])]
    raise UnmappedOperation(f"sns.{operation}")


def _lambda(operation: str, p: Params, where: Where) -> list[Requirement]:
    if operation == "Invoke":
        name = str(p["FunctionName"])
        arn = name if name.startswith("arn:") else where.arn("lambda", f"function:{name}")
        return [Requirement("lambda:InvokeFunction", arn)]
    raise UnmappedOperation(f"lambda.{operation}")


def _a2i(operation: str, p: Params, where: Where) -> list[Requirement]:
    # The service authorization reference: StartHumanLoop is authorized on the flow definition;
    # Describe/Stop/Delete on the human loop.
    if operation == "StartHumanLoop":
        return [Requirement("sagemaker:StartHumanLoop", p["FlowDefinitionArn"])]
    if operation in {"DescribeHumanLoop", "StopHumanLoop", "DeleteHumanLoop"}:
        return [
            Requirement(f"sagemaker:{operation}", where.arn("sagemaker", f"human-loop/{p['HumanLoopName']}"))
        ]
    raise UnmappedOperation(f"sagemaker-a2i-runtime.{operation}")


def _endpoint_type(model_arn: str) -> str:
    return (
        "entity-recognizer-endpoint" if ":entity-recognizer/" in model_arn else "document-classifier-endpoint"
    )


def _comprehend(operation: str, p: Params, where: Where) -> list[Requirement]:
    """Comprehend, with its dependent authorizations: iam:PassRole for the data access role, and
    comprehend:TagResource for tags given at creation (the developer guide: tagging on create needs both)."""

    def versioned(kind: str, name: str) -> str:
        version = p.get("VersionName")
        return where.arn("comprehend", f"{kind}/{name}" + (f"/version/{version}" if version else ""))

    def job(kind: str) -> str:
        return where.arn("comprehend", f"{kind}/{p.get('JobName') or '*'}")

    created: str | None = None
    found: list[Requirement]
    if operation == "CreateDocumentClassifier":
        created = versioned("document-classifier", p["DocumentClassifierName"])
        found = [Requirement(f"comprehend:{operation}", created)]
    elif operation == "CreateEntityRecognizer":
        created = versioned("entity-recognizer", p["RecognizerName"])
        found = [Requirement(f"comprehend:{operation}", created)]
    elif operation in {
        "DescribeDocumentClassifier",
        "StopTrainingDocumentClassifier",
        "DeleteDocumentClassifier",
    }:
        found = [Requirement(f"comprehend:{operation}", p["DocumentClassifierArn"])]
    elif operation in {"DescribeEntityRecognizer", "StopTrainingEntityRecognizer", "DeleteEntityRecognizer"}:
        found = [Requirement(f"comprehend:{operation}", p["EntityRecognizerArn"])]
    elif operation == "StartDocumentClassificationJob":
        created = job("document-classification-job")
        found = [Requirement(f"comprehend:{operation}", created)]
        if "DocumentClassifierArn" in p:
            found.append(Requirement(f"comprehend:{operation}", p["DocumentClassifierArn"]))
    elif operation == "StartEntitiesDetectionJob":
        created = job("entities-detection-job")
        found = [Requirement(f"comprehend:{operation}", created)]
        if "EntityRecognizerArn" in p:
            found.append(Requirement(f"comprehend:{operation}", p["EntityRecognizerArn"]))
    elif operation == "DescribeDocumentClassificationJob":
        found = [
            Requirement(
                f"comprehend:{operation}",
                where.arn("comprehend", f"document-classification-job/{p['JobId']}"),
            )
        ]
    elif operation == "DescribeEntitiesDetectionJob":
        found = [
            Requirement(
                f"comprehend:{operation}", where.arn("comprehend", f"entities-detection-job/{p['JobId']}")
            )
        ]
    elif operation == "CreateEndpoint":
        created = where.arn("comprehend", f"{_endpoint_type(p['ModelArn'])}/{p['EndpointName']}")
        found = [
            Requirement(f"comprehend:{operation}", created),
            Requirement(f"comprehend:{operation}", p["ModelArn"]),
        ]
    elif operation == "UpdateEndpoint":
        found = [Requirement(f"comprehend:{operation}", p["EndpointArn"])]
        if "DesiredModelArn" in p:
            found.append(Requirement(f"comprehend:{operation}", p["DesiredModelArn"]))
    elif operation in {"DescribeEndpoint", "DeleteEndpoint", "ClassifyDocument", "DetectEntities"}:
        found = [Requirement(f"comprehend:{operation}", p["EndpointArn"])]
    elif operation == "TagResource":
        found = [Requirement("comprehend:TagResource", p["ResourceArn"])]
    elif operation in {
        "ListEndpoints",
        "ListDocumentClassifiers",
        "ListEntityRecognizers",
        "DetectDominantLanguage",
    }:
        found = [Requirement(f"comprehend:{operation}", "*")]  # no resource-level permissions
    else:
        raise UnmappedOperation(f"comprehend.{operation}")
    if p.get("DataAccessRoleArn"):
        passed = (("iam:PassedToService", "comprehend.amazonaws.com"),)
        found.append(Requirement("iam:PassRole", p["DataAccessRoleArn"], passed))
    if created and p.get("Tags"):
        found.append(Requirement("comprehend:TagResource", created))
    return found


def _stepfunctions(operation: str, p: Params, where: Where) -> list[Requirement]:
    if operation in {"ListExecutions", "StartExecution"}:
        return [Requirement(f"states:{operation}", p["stateMachineArn"])]
    if operation == "DescribeExecution":
        return [Requirement("states:DescribeExecution", p["executionArn"])]
    raise UnmappedOperation(f"stepfunctions.{operation}")


MAPPERS: dict[str, Callable[[str, Params, Where], list[Requirement]]] = {
    "stepfunctions": _stepfunctions,
    "s3": _s3,
    "dynamodb": _dynamodb,
    "ssm": _ssm,
    "sns": _sns,
    "lambda": _lambda,
    "sagemaker-a2i-runtime": _a2i,
    "comprehend": _comprehend,
}


def requirements(service: str, operation: str, params: Params, where: Where) -> list[Requirement]:
    """The IAM authorizations AWS checks for one API call (service as botocore names it)."""
    mapper = MAPPERS.get(service)
    if mapper is None:
        raise UnmappedOperation(f"{service}.{operation}")
    return mapper(operation, params, where)


# --- recording ------------------------------------------------------------------------------------------
@dataclass
class Recorder:
    where: Where
    calls: list[Call] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    _local: threading.local = field(default_factory=threading.local)
    _clients: weakref.WeakKeyDictionary[Any, str] = field(default_factory=weakref.WeakKeyDictionary)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # (service, operation) → principal, for calls made outside any function and any tagged client
    fallback: Callable[[str, str], str | None] = lambda service, operation: None

    @contextmanager
    def acting_as(self, principal: str) -> Iterator[None]:
        """Calls made by this thread inside the block belong to ``principal``."""
        outer = getattr(self._local, "principal", None)
        self._local.principal = principal
        try:
            yield
        finally:
            self._local.principal = outer

    def tag(self, client: Any, principal: str) -> Any:
        """Calls made through ``client`` (from any thread) belong to ``principal``."""
        self._clients[client] = principal
        return client

    def principal_of(self, client: Any, operation: str) -> str | None:
        return (
            getattr(self._local, "principal", None)
            or self._clients.get(client)
            or self.fallback(client.meta.service_model.service_name, operation)
        )

    def record(self, client: Any, operation: str, params: Params) -> None:
        principal = self.principal_of(client, operation)
        if principal is None:
            return
        service = client.meta.service_model.service_name
        try:
            found = tuple(requirements(service, operation, params, self.where))
        except UnmappedOperation as error:
            with self._lock:
                self.unmapped.append(f"{principal}: {error}")
            return
        with self._lock:
            self.calls.append(Call(principal, f"{service}.{operation}", found))

    @contextmanager
    def installed(self) -> Iterator[Recorder]:
        """Record every boto3 call of this process while the block runs."""
        real = BaseClient._make_api_call  # type: ignore[attr-defined]
        recorder = self

        def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            recorder.record(client, operation_name, api_params)
            return real(client, operation_name, api_params)

        BaseClient._make_api_call = _make_api_call  # type: ignore[attr-defined]
        try:
            yield self
        finally:
            BaseClient._make_api_call = real  # type: ignore[attr-defined]


# --- policy evaluation -----------------------------------------------------------------------------------
def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, *, case: bool = True) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def action_matches(pattern: str, action: str) -> bool:
    return _glob(pattern, action, case=False)


def _condition_holds(condition: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    for operator, tests in condition.items():
        for key, expected in tests.items():
            value = context.get(key)
            if value is None:  # a missing key fails every operator we use (none is ...IfExists)
                return False
            patterns = [str(e) for e in _listed(expected)]
            if operator in {"StringEquals", "ArnEquals"}:
                ok = value in patterns
            elif operator in {"StringLike", "ArnLike"}:
                ok = any(_glob(p, value) for p in patterns)
            else:
                raise NotImplementedError(f"condition operator {operator}")
            if not ok:
                return False
    return True


def statement_matches(statement: Mapping[str, Any], requirement: Requirement) -> bool:
    return (
        any(action_matches(a, requirement.action) for a in _listed(statement.get("Action", [])))
        and any(_glob(r, requirement.resource) for r in _listed(statement.get("Resource", [])))
        and _condition_holds(statement.get("Condition", {}), dict(requirement.context))
    )


def allowed(statements: Sequence[Mapping[str, Any]], requirement: Requirement) -> bool:
    """Identity-policy evaluation: an explicit Deny wins, otherwise some Allow must match."""
    matching = [s for s in statements if statement_matches(s, requirement)]
    return not any(s["Effect"] == "Deny" for s in matching) and any(s["Effect"] == "Allow" for s in matching)


def granted_actions(statements: Sequence[Mapping[str, Any]]) -> set[str]:
    return {a for s in statements if s["Effect"] == "Allow" for a in _listed(s.get("Action", []))}
