"""Comprehend adapter: one interface for both model kinds (classifier and entity recognizer).

The lifecycle steps talk to :class:`ModelOps`; the two implementations differ only in the API names
and request shapes, so a second model kind plugs into the same workflow without a copy of it.

Why this module is long: it is the whole Comprehend boundary (every call, its request shape and the
translation of its answers), so the API surface the stack depends on, and its IAM, is read in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import boto3
from botocore import xform_name
from botocore.config import Config

from comprehend_al.aws.errors import aws_call
from comprehend_al.errors import ResourceNotFound
from comprehend_al.models import DatasetRef, ModelKind

CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30)
TRAINED = {"TRAINED", "TRAINED_WITH_WARNING"}
TRAINING_FAILED = {"IN_ERROR", "STOPPED", "STOP_REQUESTED", "DELETING"}
JOB_FAILED = {"FAILED", "STOPPED", "STOP_REQUESTED"}


@dataclass(frozen=True)
class TrainingStatus:
    status: str
    message: str
    metrics: dict[str, float]

    @property
    def done(self) -> bool:
        return self.status in TRAINED

    @property
    def failed(self) -> bool:
        return self.status in TRAINING_FAILED


@dataclass(frozen=True)
class JobStatus:
    status: str
    message: str
    output_uri: str

    @property
    def done(self) -> bool:
        return self.status == "COMPLETED"

    @property
    def failed(self) -> bool:
        return self.status in JOB_FAILED


@dataclass(frozen=True)
class EndpointStatus:
    status: str
    message: str
    model_arn: str
    desired_model_arn: str

    @property
    def done(self) -> bool:
        return self.status == "IN_SERVICE" and (
            not self.desired_model_arn or self.desired_model_arn == self.model_arn
        )

    @property
    def failed(self) -> bool:
        return self.status == "FAILED"


@dataclass(frozen=True)
class ModelVersion:
    arn: str
    version: str
    status: str

    @property
    def training(self) -> bool:
        return self.status in {"SUBMITTED", "TRAINING"}


@dataclass(frozen=True)
class EndpointInfo:
    arn: str
    name: str
    status: str
    model_arn: str


class ModelOps(Protocol):
    kind: ModelKind

    def start_training(
        self,
        *,
        name: str,
        version: str,
        dataset: DatasetRef,
        role_arn: str,
        output_uri: str,
        language: str,
        tags: dict[str, str],
    ) -> str: ...

    def describe_training(self, model_arn: str) -> TrainingStatus: ...

    def stop_training(self, model_arn: str) -> None: ...

    def start_test_job(
        self, *, model_arn: str, job_name: str, input_uri: str, output_uri: str, role_arn: str, language: str
    ) -> str: ...

    def describe_test_job(self, job_id: str) -> JobStatus: ...

    def versions(self, name: str) -> list[ModelVersion]: ...

    def find_version(self, name: str, version: str) -> str | None: ...


def _tags(tags: dict[str, str]) -> list[Any]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _float_metrics(metrics: dict[str, Any] | None) -> dict[str, float]:
    return {k: float(v) for k, v in (metrics or {}).items() if isinstance(v, int | float)}


class ComprehendClient:
    """Thin wrapper around the boto3 Comprehend client (endpoints are common to both kinds)."""

    def __init__(self, client: Any | None = None) -> None:
        # botocore retries throttling briefly inside the call; longer backoff is the state machine's Retry
        self.client = client or boto3.client("comprehend", config=CLIENT_CONFIG)

    def create_endpoint(self, *, name: str, model_arn: str, units: int, tags: dict[str, str]) -> str:
        with aws_call("CreateEndpoint"):
            response = self.client.create_endpoint(
                EndpointName=name, ModelArn=model_arn, DesiredInferenceUnits=units, Tags=_tags(tags)
            )
        return str(response["EndpointArn"])

    def update_endpoint(self, *, endpoint_arn: str, model_arn: str) -> None:
        with aws_call("UpdateEndpoint"):
            self.client.update_endpoint(EndpointArn=endpoint_arn, DesiredModelArn=model_arn)

    def describe_endpoint(self, endpoint_arn: str) -> EndpointStatus:
        with aws_call("DescribeEndpoint"):
            props = self.client.describe_endpoint(EndpointArn=endpoint_arn)["EndpointProperties"]
        return EndpointStatus(
            status=props["Status"],
            message=props.get("Message", ""),
            model_arn=props.get("ModelArn", ""),
            desired_model_arn=props.get("DesiredModelArn", ""),
        )

    def endpoints(self) -> list[EndpointInfo]:
        """Every endpoint of the account and region (both kinds)."""
        found: list[EndpointInfo] = []
        kwargs: dict[str, Any] = {}
        while True:
            with aws_call("ListEndpoints"):
                page = self.client.list_endpoints(**kwargs)
            for props in page.get("EndpointPropertiesList", []):
                arn = str(props["EndpointArn"])
                found.append(
                    EndpointInfo(
                        arn, arn.rsplit("/", 1)[-1], str(props["Status"]), str(props.get("ModelArn", ""))
                    )
                )
            if not page.get("NextToken"):
                return found
            kwargs["NextToken"] = page["NextToken"]

    def find_endpoint(self, name: str) -> EndpointInfo | None:
        """The endpoint called ``name`` (names are unique per account and region)."""
        return next((e for e in self.endpoints() if e.name == name), None)

    def classify(self, endpoint_arn: str, text: str) -> list[tuple[str, float]]:
        """Real-time classification: ``(label, score)`` pairs, best first (``Classes`` or ``Labels``)."""
        with aws_call("ClassifyDocument"):
            response = self.client.classify_document(Text=text, EndpointArn=endpoint_arn)
        found = response.get("Classes") or response.get("Labels") or []
        pairs = [(str(c["Name"]), float(c.get("Score", 0.0))) for c in found]
        return sorted(pairs, key=lambda pair: -pair[1])

    def detect_entities(self, endpoint_arn: str, text: str) -> list[tuple[int, int, str, float]]:
        """Real-time entity detection: ``(begin, end, type, score)`` of each entity."""
        with aws_call("DetectEntities"):
            response = self.client.detect_entities(Text=text, EndpointArn=endpoint_arn)
        return [
            (int(e["BeginOffset"]), int(e["EndOffset"]), str(e["Type"]), float(e.get("Score", 0.0)))
            for e in response.get("Entities", [])
        ]

    def delete_endpoint(self, endpoint_arn: str) -> bool:
        """Delete an endpoint; ``False`` when it was already gone (deletion is idempotent)."""
        try:
            with aws_call("DeleteEndpoint"):
                self.client.delete_endpoint(EndpointArn=endpoint_arn)
        except ResourceNotFound:
            return False
        return True


class _ModelApi:
    """What both model kinds' APIs share: describe / stop training, start / describe a test job.

    The operation names follow one pattern per kind (``Describe<Model>``, ``Start<Job>``, ...), so the
    kind classes only name their nouns and build their own training request.
    """

    kind: ModelKind
    model: str  # "DocumentClassifier" | "EntityRecognizer"
    metadata_key: str  # where the training metrics are in the model's properties
    job: str  # "DocumentClassificationJob" | "EntitiesDetectionJob"

    def __init__(self, client: Any) -> None:
        self.client = client

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        with aws_call(operation):
            return dict(getattr(self.client, xform_name(operation))(**kwargs))

    def describe_training(self, model_arn: str) -> TrainingStatus:
        response = self._call(f"Describe{self.model}", **{f"{self.model}Arn": model_arn})
        props = response[f"{self.model}Properties"]
        metadata = props.get(self.metadata_key) or {}
        return TrainingStatus(
            status=props["Status"],
            message=props.get("Message", ""),
            metrics=_float_metrics(metadata.get("EvaluationMetrics")),
        )

    def stop_training(self, model_arn: str) -> None:
        self._call(f"StopTraining{self.model}", **{f"{self.model}Arn": model_arn})

    def _job_options(self, language: str) -> dict[str, Any]:
        return {}

    def start_test_job(
        self, *, model_arn: str, job_name: str, input_uri: str, output_uri: str, role_arn: str, language: str
    ) -> str:
        response = self._call(
            f"Start{self.job}",
            JobName=job_name[:256],
            InputDataConfig={"S3Uri": input_uri, "InputFormat": "ONE_DOC_PER_LINE"},
            OutputDataConfig={"S3Uri": output_uri},
            DataAccessRoleArn=role_arn,
            **{f"{self.model}Arn": model_arn},
            **self._job_options(language),
        )
        return str(response["JobId"])

    name_filter: str  # the List<Model>s filter on the model's name

    def versions(self, name: str) -> list[ModelVersion]:
        """Every version of the model ``name``."""
        found: list[ModelVersion] = []
        kwargs: dict[str, Any] = {"Filter": {self.name_filter: name}}
        while True:
            page = self._call(f"List{self.model}s", **kwargs)
            for props in page.get(f"{self.model}PropertiesList", []):
                arn = str(props[f"{self.model}Arn"])
                found.append(ModelVersion(arn, str(props.get("VersionName", "")), str(props["Status"])))
            if not page.get("NextToken"):
                return found
            kwargs["NextToken"] = page["NextToken"]

    def find_version(self, name: str, version: str) -> str | None:
        """The ARN of version ``version`` of ``name``, if it exists (to adopt a create a crash hid)."""
        return next((v.arn for v in self.versions(name) if v.version == version), None)

    def describe_test_job(self, job_id: str) -> JobStatus:
        props = self._call(f"Describe{self.job}", JobId=job_id)[f"{self.job}Properties"]
        return JobStatus(
            status=props["JobStatus"],
            message=props.get("Message", ""),
            output_uri=props.get("OutputDataConfig", {}).get("S3Uri", ""),
        )


class ClassifierOps(_ModelApi):
    kind = ModelKind.CLASSIFIER
    model = "DocumentClassifier"
    name_filter = "DocumentClassifierName"
    metadata_key = "ClassifierMetadata"
    job = "DocumentClassificationJob"

    def __init__(self, client: Any, *, mode: str = "MULTI_CLASS", delimiter: str = "|") -> None:
        super().__init__(client)
        self.mode = mode
        self.delimiter = delimiter

    def start_training(
        self,
        *,
        name: str,
        version: str,
        dataset: DatasetRef,
        role_arn: str,
        output_uri: str,
        language: str,
        tags: dict[str, str],
    ) -> str:
        input_config: dict[str, Any] = {
            "DataFormat": "COMPREHEND_CSV",
            "S3Uri": dataset.train_uri,
            "TestS3Uri": dataset.test_uri,
        }
        if self.mode == "MULTI_LABEL":
            input_config["LabelDelimiter"] = self.delimiter
        response = self._call(
            "CreateDocumentClassifier",
            DocumentClassifierName=name,
            VersionName=version,
            DataAccessRoleArn=role_arn,
            InputDataConfig=input_config,
            OutputDataConfig={"S3Uri": output_uri},
            LanguageCode=language,
            Mode=self.mode,
            Tags=_tags(tags),
            ClientRequestToken=f"{name}-{version}"[:64],
        )
        return str(response["DocumentClassifierArn"])


class RecognizerOps(_ModelApi):
    kind = ModelKind.ENTITY_RECOGNIZER
    model = "EntityRecognizer"
    name_filter = "RecognizerName"
    metadata_key = "RecognizerMetadata"
    job = "EntitiesDetectionJob"

    def _job_options(self, language: str) -> dict[str, Any]:
        return {"LanguageCode": language}  # required for entity detection jobs

    def start_training(
        self,
        *,
        name: str,
        version: str,
        dataset: DatasetRef,
        role_arn: str,
        output_uri: str,
        language: str,
        tags: dict[str, str],
    ) -> str:
        del output_uri  # entity recognizers write no training output to S3
        response = self._call(
            "CreateEntityRecognizer",
            RecognizerName=name,
            VersionName=version,
            DataAccessRoleArn=role_arn,
            InputDataConfig={
                "DataFormat": "COMPREHEND_CSV",
                "EntityTypes": [{"Type": t} for t in sorted(dataset.label_counts)],
                "Documents": {"S3Uri": dataset.train_uri, "TestS3Uri": dataset.test_uri},
                "Annotations": {
                    "S3Uri": dataset.train_annotations_uri or "",
                    "TestS3Uri": dataset.test_annotations_uri or "",
                },
            },
            LanguageCode=language,
            Tags=_tags(tags),
            ClientRequestToken=f"{name}-{version}"[:64],
        )
        return str(response["EntityRecognizerArn"])
