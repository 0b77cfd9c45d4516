"""Makes the offline stack hold what a sample event names, before ``comprehend-al invoke`` (see
:mod:`local.invoke`): the bucket, the fixed test sets, an uploaded object, a dataset, model versions and
endpoints under the event's own names, and an active classifier for the HTTP API events.

What cannot be made under the event's name is left alone, and the function's typed error is its answer:
test-job ids (Comprehend chooses them, so ``GetJobStatus`` and ``EvaluateModel`` meet jobs that never ran),
the A2I output file of ``process_review/completed.json``, the prediction id of ``feedback/by_prediction_id``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import ClientError

from local import datagen, entitygen
from local.stack import ACCOUNT, REGION

EVENT_BUCKET = re.compile(r"comprehend-al-databucket-[a-z0-9]+")
NAME = r"([A-Za-z0-9](?:-*[A-Za-z0-9])*)"  # Comprehend's resource names
MODEL_ARN = re.compile(rf"arn:aws:comprehend:[a-z0-9-]+:\d{{12}}:document-classifier/{NAME}/version/{NAME}")
ENDPOINT_ARN = re.compile(rf"arn:aws:comprehend:[a-z0-9-]+:\d{{12}}:document-classifier-endpoint/{NAME}")
API_FUNCTIONS = {"ClassifyFunction", "FeedbackFunction", "AnalyzeFunction"}
SEED_TRAIN_KEY = "datasets/classifier/offline-seed/train.csv"


class Seeder:
    def __init__(self, env: Any) -> None:
        self.env = env
        self.stack = env.stack
        self.comprehend = boto3.client("comprehend", region_name=REGION, endpoint_url=env.comprehend.url)
        self.s3 = boto3.client("s3", region_name=REGION)

    def seed(self, logical_id: str, event: dict[str, Any]) -> list[str]:
        """Seed what ``event`` names (rewriting its bucket name in place); return what was done, in words."""
        done: list[str] = []
        text = json.dumps(event)
        if EVENT_BUCKET.search(text):
            event.clear()
            event.update(json.loads(EVENT_BUCKET.sub(self.stack.bucket, text)))
            done.append(f"bucket name → {self.stack.bucket} (the offline stack's)")
            text = json.dumps(event)
        done += self._test_sets()
        if logical_id in API_FUNCTIONS:
            done += self._active_classifier()
            return done
        done += self._uploaded_object(event)
        train_uri = event.get("run", {}).get("dataset", {}).get("train_uri", "")
        models = {m.group(0): m.groups() for m in MODEL_ARN.finditer(text)}
        for arn, (name, version) in models.items():
            done += self._attempt(f"model {arn}", self._model, arn, name, version, train_uri)
        for endpoint_arn, name in {m.group(0): m.group(1) for m in ENDPOINT_ARN.finditer(text)}.items():
            model_arn = _paired_model(event, endpoint_arn) or next(iter(models), "")
            done += self._attempt(f"endpoint {endpoint_arn}", self._endpoint, endpoint_arn, name, model_arn)
        return done

    @staticmethod
    def _attempt(what: str, action: Callable[..., list[str]], *args: str) -> list[str]:
        """Seeding is best effort: what cannot be made is said, and the function meets its absence."""
        try:
            return action(*args)
        except ClientError as error:
            return [f"not seeded: {what}: {error}"]

    # --- S3 ----------------------------------------------------------------------------------------------
    def _exists(self, key: str) -> bool:
        return bool(self.s3.list_objects_v2(Bucket=self.stack.bucket, Prefix=key).get("KeyCount"))

    def _test_sets(self) -> list[str]:
        if self._exists("test/classifier/test.csv"):
            return []
        self.stack.put("test/classifier/test.csv", datagen.to_csv(datagen.generate(150, seed=99)))
        documents, annotations = entitygen.to_files(entitygen.generate(80, seed=99))
        self.stack.put("test/entities/documents.txt", documents)
        self.stack.put("test/entities/annotations.csv", annotations)
        return ["fixed test sets: test/classifier/test.csv, test/entities/ (generated)"]

    def _uploaded_object(self, event: dict[str, Any]) -> list[str]:
        key = event.get("detail", {}).get("object", {}).get("key", "")
        if not key.startswith("train/new/") or self._exists(key):
            return []
        self.stack.put(key, datagen.to_csv(datagen.generate(100, seed=7)))
        return [f"the uploaded object s3://{self.stack.bucket}/{key} (100 generated tickets)"]

    def _training_uri(self, train_uri: str) -> str:
        prefix = f"s3://{self.stack.bucket}/"
        key = train_uri[len(prefix) :] if train_uri.startswith(prefix) else SEED_TRAIN_KEY
        if not self._exists(key):
            self.stack.put(key, datagen.to_csv(datagen.generate(200, seed=5)))
        return prefix + key

    # --- Comprehend --------------------------------------------------------------------------------------
    def _model(self, arn: str, name: str, version: str, train_uri: str) -> list[str]:
        try:
            self.comprehend.describe_document_classifier(DocumentClassifierArn=arn)
            return []
        except self.comprehend.exceptions.ResourceNotFoundException:
            pass
        self.comprehend.create_document_classifier(
            DocumentClassifierName=name,
            VersionName=version,
            DataAccessRoleArn=f"arn:aws:iam::{ACCOUNT}:role/offline-comprehend",
            InputDataConfig={"S3Uri": self._training_uri(train_uri)},
            LanguageCode="en",
            Mode="MULTI_CLASS",
        )
        status = self._wait(
            lambda: self.comprehend.describe_document_classifier(DocumentClassifierArn=arn)[
                "DocumentClassifierProperties"
            ]["Status"],
            {"TRAINED", "TRAINED_WITH_WARNING", "IN_ERROR"},
        )
        return [f"model {name} version {version} ({status})"]

    def _endpoint(self, arn: str, name: str, model_arn: str) -> list[str]:
        try:
            self.comprehend.describe_endpoint(EndpointArn=arn)
            return []
        except self.comprehend.exceptions.ResourceNotFoundException:
            pass
        if not model_arn:
            return []
        self.comprehend.create_endpoint(EndpointName=name, ModelArn=model_arn, DesiredInferenceUnits=1)
        status = self._wait(
            lambda: self.comprehend.describe_endpoint(EndpointArn=arn)["EndpointProperties"]["Status"],
            {"IN_SERVICE", "FAILED"},
        )
        return [f"endpoint {name} ({status})"]

    @staticmethod
    def _wait(status: Any, final: set[str], seconds: float = 120) -> str:
        deadline = time.monotonic() + seconds
        current = status()
        while current not in final and time.monotonic() < deadline:
            time.sleep(0.1)
            current = status()
        return str(current)

    def _active_classifier(self) -> list[str]:
        """A classifier trained and deployed by the real workflow (once per session)."""
        from comprehend_al.models import ModelKind

        if self.stack.active(ModelKind.CLASSIFIER).endpoint_arn:
            return []
        result = self.stack.upload(
            "train/new/offline-seed.csv", datagen.to_csv(datagen.generate(200, seed=1))
        )
        active = self.stack.active(ModelKind.CLASSIFIER)
        return [
            f"an active classifier {active.version} (workflow on 200 generated tickets: {result['status']})"
        ]


def _paired_model(event: dict[str, Any], endpoint_arn: str) -> str:
    """The model an event pairs with an endpoint (``endpoint_arn``/``model_arn`` or ``previous_*`` keys)."""
    stack: list[Any] = [event]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for prefix in ("", "previous_"):
                if item.get(f"{prefix}endpoint_arn") == endpoint_arn and item.get(f"{prefix}model_arn"):
                    return str(item[f"{prefix}model_arn"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return ""
