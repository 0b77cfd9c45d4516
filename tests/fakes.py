"""An in-memory Amazon Comprehend for tests (moto has no document classifiers, jobs or endpoints).

:class:`FakeComprehend` has the boto3 Comprehend client methods the adapters call. Every request is
checked against botocore's service model (required members, types, lengths, patterns), so a request
the real client would refuse fails here too. The test scripts what ``Describe*`` answers
(``fake.classifier_status = "IN_ERROR"``), what a model predicts on the test set
(``fake.predictions[model_arn] = ["BILLING", ...]``: a completed job writes a real ``output.tar.gz``
holding ``predictions.jsonl`` to (moto) S3), and which call fails next with which Comprehend error code
(``fake.fail_next("CreateDocumentClassifier", "TooManyRequestsException")``).
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import botocore.session
from botocore.exceptions import ClientError
from botocore.model import Shape
from botocore.validate import validate_parameters

ACCOUNT = "123456789012"
REGION = "us-east-1"

_MODEL = botocore.session.get_session().get_service_model("comprehend")

Prediction = str | Mapping[str, float]  # the top label, or {label: score}


def create_key_table(dynamodb: Any, name: str) -> None:
    """A pay-per-request DynamoDB table keyed as the stack's tables are (string ``pk`` hash, ``sk`` range), in
    moto: ``dynamodb`` is a boto3 client or resource."""
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )


def comprehend_error(code: str, message: str = "", *, operation: str = "", status: int = 400) -> ClientError:
    """The ``ClientError`` botocore raises for a Comprehend error response."""
    return ClientError(
        {
            "Error": {"Code": code, "Message": message or code},
            "ResponseMetadata": {
                "HTTPStatusCode": status,
                "RequestId": str(uuid.uuid4()),
                "HTTPHeaders": {},
                "HostId": "",
                "RetryAttempts": 0,
            },
        },
        operation,
    )


def predictions_jsonl(predictions: Sequence[Prediction], *, file: str = "documents.txt") -> bytes:
    """``predictions.jsonl`` as a multi-class classification job writes it (one line per input line)."""
    lines = []
    for line, prediction in enumerate(predictions):
        scores = {prediction: 0.9} if isinstance(prediction, str) else dict(prediction)
        classes = [
            {"Name": name, "Score": score}
            for name, score in sorted(scores.items(), key=lambda item: item[1], reverse=True)
        ]
        lines.append(json.dumps({"File": file, "Line": str(line), "Classes": classes}))
    return ("\n".join(lines) + "\n").encode()


def job_output_tar(predictions: Sequence[Prediction], *, file: str = "documents.txt") -> bytes:
    """The ``output.tar.gz`` of a classification job: ``predictions.jsonl`` at the archive's root."""
    data = predictions_jsonl(predictions, file=file)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("predictions.jsonl")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _check_strings(value: Any, shape: Shape, path: str) -> list[str]:
    """Max length and pattern of string members (botocore's validator checks neither)."""
    problems: list[str] = []
    if shape.type_name == "string" and isinstance(value, str):
        limit = shape.metadata.get("max")
        if limit is not None and len(value) > limit:
            problems.append(f"{path}: {len(value)} characters, at most {limit}")
        pattern = shape.metadata.get("pattern")
        if pattern:
            try:
                compiled = re.compile(pattern)
            except re.error:  # Java-only syntax (\p{L}): not checkable with re
                compiled = None
            if compiled and not compiled.fullmatch(value):
                problems.append(f"{path}: {value!r} does not match {pattern}")
    elif shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():  # type: ignore[attr-defined]
            if name in value:
                problems += _check_strings(value[name], member, f"{path}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            problems += _check_strings(item, shape.member, f"{path}[{index}]")  # type: ignore[attr-defined]
    return problems


class FakeComprehend:
    """The Comprehend client methods the adapters use, backed by dictionaries and (moto) S3."""

    def __init__(self, s3_client: Any, *, account: str = ACCOUNT, region: str = REGION) -> None:
        self.s3 = s3_client
        self.account = account
        self.region = region
        # what Describe* answers, for every resource of its type (the test scripts these)
        self.classifier_status = "SUBMITTED"
        self.classifier_message = ""
        self.classifier_metrics: dict[str, float] = {"Accuracy": 0.9, "F1Score": 0.88}
        self.job_status = "SUBMITTED"
        self.job_message = ""
        self.endpoint_status = "CREATING"
        self.endpoint_message = ""
        self.predictions: dict[str, Sequence[Prediction]] = {}  # by model ARN: its test-job predictions
        # the resources that exist
        self.classifiers: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._errors: dict[str, list[ClientError]] = {}

    # --- scripting ------------------------------------------------------------------------------------
    def fail_next(self, operation: str, code: str, message: str = "", *, status: int = 400) -> None:
        """Make the next call of ``operation`` (API name, e.g. ``CreateEndpoint``) raise ``code``."""
        _MODEL.operation_model(operation)  # a typo in the operation name fails here, not silently
        self._errors.setdefault(operation, []).append(
            comprehend_error(code, message, operation=operation, status=status)
        )

    def calls_to(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]

    def classifier_arn(self, name: str, version: str) -> str:
        return f"arn:aws:comprehend:{self.region}:{self.account}:document-classifier/{name}/version/{version}"

    def endpoint_arn(self, name: str) -> str:
        return f"arn:aws:comprehend:{self.region}:{self.account}:document-classifier-endpoint/{name}"

    def add_classifier(self, arn: str) -> None:
        """A classifier that already exists (created by an earlier step or run)."""
        self.classifiers[arn] = {"DocumentClassifierArn": arn, "SubmitTime": self._now()}

    def add_job(self, job_id: str, model_arn: str, output_prefix: str) -> None:
        """A classification job that was already started, writing under ``output_prefix``."""
        self.jobs[job_id] = self._job(job_id, model_arn, output_prefix, input_uri="s3://unused/documents.txt")

    def add_endpoint(self, arn: str, model_arn: str) -> None:
        """An endpoint that already exists (e.g. the active one), in service."""
        self.endpoints[arn] = {
            "EndpointArn": arn,
            "ModelArn": model_arn,
            "DesiredModelArn": model_arn,
            "DesiredInferenceUnits": 1,
            "CurrentInferenceUnits": 1,
            "CreationTime": self._now(),
            "LastModifiedTime": self._now(),
        }

    # --- plumbing -------------------------------------------------------------------------------------
    @staticmethod
    def _now() -> datetime:
        return datetime.now(UTC)

    def _call(self, operation: str, params: dict[str, Any]) -> None:
        """Record the call, check it against the service model, raise a scripted error if one is due."""
        self.calls.append((operation, params))
        shape = _MODEL.operation_model(operation).input_shape
        assert shape is not None, operation
        validate_parameters(params, shape)  # raises ParamValidationError, as the real client would
        problems = _check_strings(params, shape, operation)
        if problems:
            raise comprehend_error("ValidationException", "; ".join(problems), operation=operation)
        errors = self._errors.get(operation)
        if errors:
            raise errors.pop(0)

    def _not_found(self, operation: str, what: str) -> ClientError:
        return comprehend_error("ResourceNotFoundException", f"{what} not found", operation=operation)

    def _job(self, job_id: str, model_arn: str, output_prefix: str, *, input_uri: str) -> dict[str, Any]:
        prefix = output_prefix if output_prefix.endswith("/") else output_prefix + "/"
        return {
            "JobId": job_id,
            "JobArn": f"arn:aws:comprehend:{self.region}:{self.account}:document-classification-job/{job_id}",
            "DocumentClassifierArn": model_arn,
            "InputDataConfig": {"S3Uri": input_uri, "InputFormat": "ONE_DOC_PER_LINE"},
            # Comprehend reports the full path of the archive it writes (known from the start)
            "OutputDataConfig": {"S3Uri": f"{prefix}{self.account}-CLN-{job_id}/output/output.tar.gz"},
            "SubmitTime": self._now(),
        }

    # --- classifiers ----------------------------------------------------------------------------------
    def create_document_classifier(self, **params: Any) -> dict[str, Any]:
        self._call("CreateDocumentClassifier", params)
        arn = self.classifier_arn(params["DocumentClassifierName"], params.get("VersionName", ""))
        if arn in self.classifiers:
            raise comprehend_error(
                "ResourceInUseException", f"{arn} exists", operation="CreateDocumentClassifier"
            )
        self.classifiers[arn] = {"DocumentClassifierArn": arn, "SubmitTime": self._now(), **params}
        return {"DocumentClassifierArn": arn}

    def list_document_classifiers(self, **params: Any) -> dict[str, Any]:
        self._call("ListDocumentClassifiers", params)
        name = (params.get("Filter") or {}).get("DocumentClassifierName")
        found = [
            {**self.describe_document_classifier(DocumentClassifierArn=arn)["DocumentClassifierProperties"]}
            for arn, props in self.classifiers.items()
            if name is None or props.get("DocumentClassifierName", arn.split("/")[1]) == name
        ]
        for props in found:
            props.setdefault("VersionName", props["DocumentClassifierArn"].rsplit("/version/", 1)[-1])
        return {"DocumentClassifierPropertiesList": found}

    def list_entity_recognizers(self, **params: Any) -> dict[str, Any]:
        self._call("ListEntityRecognizers", params)
        return {"EntityRecognizerPropertiesList": []}  # the fake knows classifiers only

    def describe_document_classifier(self, **params: Any) -> dict[str, Any]:
        self._call("DescribeDocumentClassifier", params)
        arn = params["DocumentClassifierArn"]
        if arn not in self.classifiers:
            raise self._not_found("DescribeDocumentClassifier", arn)
        props: dict[str, Any] = {
            **{k: v for k, v in self.classifiers[arn].items() if k != "Tags"},
            "Status": self.classifier_status,
        }
        if self.classifier_message:
            props["Message"] = self.classifier_message
        if self.classifier_status in {"TRAINED", "TRAINED_WITH_WARNING"}:
            props["ClassifierMetadata"] = {
                "NumberOfLabels": 5,
                "NumberOfTrainedDocuments": 60,
                "NumberOfTestDocuments": 20,
                "EvaluationMetrics": dict(self.classifier_metrics),
            }
        return {"DocumentClassifierProperties": props}

    def stop_training_document_classifier(self, **params: Any) -> dict[str, Any]:
        self._call("StopTrainingDocumentClassifier", params)
        if params["DocumentClassifierArn"] not in self.classifiers:
            raise self._not_found("StopTrainingDocumentClassifier", params["DocumentClassifierArn"])
        self.classifier_status = "STOP_REQUESTED"
        return {}

    # --- classification jobs --------------------------------------------------------------------------
    def start_document_classification_job(self, **params: Any) -> dict[str, Any]:
        self._call("StartDocumentClassificationJob", params)
        model_arn = params["DocumentClassifierArn"]
        if model_arn not in self.classifiers:
            raise self._not_found("StartDocumentClassificationJob", model_arn)
        job_id = uuid.uuid4().hex
        self.jobs[job_id] = {
            **self._job(
                job_id,
                model_arn,
                params["OutputDataConfig"]["S3Uri"],
                input_uri=params["InputDataConfig"]["S3Uri"],
            ),
            "JobName": params.get("JobName", ""),
        }
        return {"JobId": job_id, "JobArn": self.jobs[job_id]["JobArn"], "JobStatus": "SUBMITTED"}

    def describe_document_classification_job(self, **params: Any) -> dict[str, Any]:
        self._call("DescribeDocumentClassificationJob", params)
        job = self.jobs.get(params["JobId"])
        if job is None:
            raise self._not_found("DescribeDocumentClassificationJob", params["JobId"])
        if self.job_status == "COMPLETED":
            self._write_output(job)
        props = {**job, "JobStatus": self.job_status}
        if self.job_message:
            props["Message"] = self.job_message
        return {"DocumentClassificationJobProperties": props}

    def _write_output(self, job: dict[str, Any]) -> None:
        predictions = self.predictions.get(job["DocumentClassifierArn"])
        if predictions is None:
            return  # nothing scripted: the archive is missing, as after a job that wrote nothing
        bucket, key = _split(job["OutputDataConfig"]["S3Uri"])
        self.s3.put_object(Bucket=bucket, Key=key, Body=job_output_tar(predictions))

    # --- endpoints ------------------------------------------------------------------------------------
    def create_endpoint(self, **params: Any) -> dict[str, Any]:
        self._call("CreateEndpoint", params)
        if params["ModelArn"] not in self.classifiers:
            raise self._not_found("CreateEndpoint", params["ModelArn"])
        arn = self.endpoint_arn(params["EndpointName"])
        if arn in self.endpoints:
            raise comprehend_error("ResourceInUseException", f"{arn} exists", operation="CreateEndpoint")
        self.add_endpoint(arn, params["ModelArn"])
        self.endpoints[arn]["DesiredInferenceUnits"] = params["DesiredInferenceUnits"]
        return {"EndpointArn": arn, "ModelArn": params["ModelArn"]}

    def list_endpoints(self, **params: Any) -> dict[str, Any]:
        self._call("ListEndpoints", params)
        return {
            "EndpointPropertiesList": [{**e, "Status": self.endpoint_status} for e in self.endpoints.values()]
        }

    def describe_endpoint(self, **params: Any) -> dict[str, Any]:
        self._call("DescribeEndpoint", params)
        endpoint = self.endpoints.get(params["EndpointArn"])
        if endpoint is None:
            raise self._not_found("DescribeEndpoint", params["EndpointArn"])
        if self.endpoint_status == "IN_SERVICE":  # an update in progress completes
            endpoint["ModelArn"] = endpoint["DesiredModelArn"]
        props = {**endpoint, "Status": self.endpoint_status}
        if self.endpoint_message:
            props["Message"] = self.endpoint_message
        return {"EndpointProperties": props}

    def update_endpoint(self, **params: Any) -> dict[str, Any]:
        self._call("UpdateEndpoint", params)
        endpoint = self.endpoints.get(params["EndpointArn"])
        if endpoint is None:
            raise self._not_found("UpdateEndpoint", params["EndpointArn"])
        if "DesiredModelArn" in params:
            if params["DesiredModelArn"] not in self.classifiers:
                raise self._not_found("UpdateEndpoint", params["DesiredModelArn"])
            endpoint["DesiredModelArn"] = params["DesiredModelArn"]
        return {"DesiredModelArn": endpoint["DesiredModelArn"]}

    def delete_endpoint(self, **params: Any) -> dict[str, Any]:
        self._call("DeleteEndpoint", params)
        if self.endpoints.pop(params["EndpointArn"], None) is None:
            raise self._not_found("DeleteEndpoint", params["EndpointArn"])
        return {}
