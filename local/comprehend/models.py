"""The lifecycle every custom model kind shares (document classifiers, entity recognizers).

A kind module describes itself with a :class:`ModelSpec` (its store collection, ARN types, names and
messages, how to load and train its model) holding a :class:`JobSpec` for its asynchronous jobs, and calls
:meth:`ModelSpec.register`, which registers the model kind that endpoints serve, the shared operations
(``Describe<Kind>``, ``List<Kind>s``, ``StopTraining<Kind>``, ``Delete<Kind>``, ``Start<Job>``,
``Describe<Job>``, ``List<Job>s``) and the restart hook. The kind module keeps what really differs: checking
its ``Create<Kind>`` request (then :meth:`ModelSpec.create`), reading and checking its training data,
training and evaluating its engine, a job's output lines and the real-time operation.

Training (a background thread): SUBMITTED → TRAINING → TRAINED | IN_ERROR | STOPPED. Jobs (a background
thread): SUBMITTED → IN_PROGRESS → COMPLETED | FAILED, writing
``<OutputDataConfig.S3Uri>/<account>-<code>-<job id>/output/output.tar.gz``. A restart ends the trainings
in flight IN_ERROR (STOPPED when a stop was requested), the jobs FAILED, and completes deletions.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.comprehend.common import check_name, new_id, now, paginate, parse_arn, require, time_filter
from local.comprehend.context import ServiceContext
from local.comprehend.endpoints import KIND as ENDPOINTS
from local.comprehend.endpoints import endpoints_using
from local.comprehend.errors import (
    ComprehendError,
    InvalidRequestException,
    JobNotFoundException,
    ResourceInUseException,
    ResourceNotFoundException,
    ResourceUnavailableException,
)
from local.comprehend.registry import ModelKind, Request, Response, on_restart, operation, register_model_kind
from local.comprehend.s3io import S3ReadError, join_uri, list_objects, parse_s3_uri, read_object, write_tar_gz
from local.comprehend.store import Record, public

TRAINED_STATUSES = ("TRAINED", "TRAINED_WITH_WARNING")
IN_TRAINING = ("SUBMITTED", "TRAINING", "STOP_REQUESTED")
MODEL_FIELDS = (
    "LanguageCode",
    "Status",
    "SubmitTime",
    "InputDataConfig",
    "OutputDataConfig",
    "DataAccessRoleArn",
    "VolumeKmsKeyId",
    "VpcConfig",
    "Mode",
    "ModelKmsKeyId",
    "VersionName",
)
"""The public fields of a model record, in the order Describe<Kind> answers them."""

Trainer = Callable[["ServiceContext", Record, Callable[[], bool]], dict[str, Any]]
"""``(ctx, record, stop_requested)`` → the fields a trained model adds to its record (``{}``: stopped)."""
Predictor = Callable[["ServiceContext", Record, Any], list[str]]
"""``(ctx, job, model)`` → the job's output lines."""
JobFields = Callable[[Request, Record], dict[str, Any]]
"""``(request, model record)`` → checks of Start<Job> and the job record fields they add."""


class TrainingDataError(Exception):
    """The training, test or job input data cannot be used; the message becomes the record's ``Message``."""


def read_training_data(ctx: ServiceContext, uri: str) -> bytes:
    """The object ``uri`` names, or, as Comprehend reads an S3Uri that is a prefix, every object whose key
    starts with it, in key order, one after the other (each ending with a line break)."""
    try:
        bucket, _ = parse_s3_uri(uri)
        keys = list_objects(ctx.s3, uri)
        if not keys:
            raise S3ReadError(f"Unable to read {uri}: no object at or under it")
        contents = [read_object(ctx.s3, f"s3://{bucket}/{key}") for key in keys]
    except S3ReadError as exc:
        raise TrainingDataError(f"Unable to access the training data: {exc}") from exc
    return b"".join(c if not c or c.endswith(b"\n") else c + b"\n" for c in contents)


# --- job input ----------------------------------------------------------------------------------------
def _file_name(key: str, input_uri: str) -> str:
    """The name an output line reports: the key relative to the input prefix's folder."""
    _, prefix = parse_s3_uri(input_uri)
    folder = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
    return key[len(folder) :] if key.startswith(folder) else key


def job_documents(ctx: ServiceContext, job: Record) -> Iterator[tuple[str, list[tuple[int | None, str]]]]:
    """``(file name, documents)`` for each input object of ``job``, read as it is needed.

    The documents are ``(line number, text)`` for each non-blank line with ONE_DOC_PER_LINE, else
    ``(None, content)`` for a non-blank object (``[]`` for a blank one).
    """
    input_uri = job["InputDataConfig"]["S3Uri"]
    bucket, _ = parse_s3_uri(input_uri)
    keys = list_objects(ctx.s3, input_uri)
    if not keys:
        raise TrainingDataError(f"No input documents were found at {input_uri}")
    per_line = job["InputDataConfig"]["InputFormat"] == "ONE_DOC_PER_LINE"
    for key in keys:
        raw = read_object(ctx.s3, f"s3://{bucket}/{key}")
        try:
            content = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise TrainingDataError(f"Unable to decode s3://{bucket}/{key} as UTF-8") from exc
        documents: list[tuple[int | None, str]] = []
        if per_line:
            lines = content.split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            documents = [(i, line.rstrip("\r")) for i, line in enumerate(lines) if line.strip()]
        elif content.strip():
            documents = [(None, content)]
        yield _file_name(key, input_uri), documents


def _list_response(
    request: Request,
    key: str,
    records: list[Record],
    status: str,
    name: str,
    name_of: Callable[[Record], Any],
) -> Response:
    """A page of the ``records`` that pass the request's ``Filter`` (status, name, submit time)."""
    flt = request.get("Filter") or {}
    selected = [
        public(r)
        for r in records
        if (not flt.get(status) or r[status] == flt[status])
        and (not flt.get(name) or name_of(r) == flt[name])
        and time_filter(r["SubmitTime"], flt.get("SubmitTimeBefore"), flt.get("SubmitTimeAfter"))
    ]
    page, token = paginate(selected, request)
    response: Response = {key: page}
    if token:
        response["NextToken"] = token
    return response


def resource_type(operation_noun: str) -> str:
    """The ARN resource type of a noun: ``DocumentClassificationJob`` → ``document-classification-job``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", operation_noun).lower()


@dataclass(frozen=True)
class JobSpec:
    """A model kind's asynchronous jobs.

    ``operation_noun`` (``DocumentClassificationJob``) names the operations (``Start…``, ``Describe…``,
    ``List…s``), the response keys (``…Properties``) and the ARN resource type; ``output_code`` (``CLN``)
    the output folder; ``output_member`` the one file of ``output.tar.gz``; ``missing_model`` the message
    when Start<Job> names no model; ``not_found`` the error of an unknown job id; ``extra_fields`` the kind's
    own checks of Start<Job> (after ``DataAccessRoleArn``), returning fields for the job record.
    """

    operation_noun: str
    output_code: str
    output_member: str
    missing_model: str
    predict: Predictor
    not_found: type[ComprehendError] = JobNotFoundException
    extra_fields: JobFields | None = None

    @property
    def resource_type(self) -> str:
        return resource_type(self.operation_noun)

    @property
    def collection(self) -> str:
        """Where the store keeps the jobs: ``document-classification-jobs``."""
        return f"{self.resource_type}s"


@dataclass(frozen=True)
class ModelSpec:
    """A custom model kind.

    ``operation_noun`` (``DocumentClassifier``) names the operations, the record's ARN field (``…Arn``)
    and the ARN resource type (``document-classifier``); ``noun`` / ``title`` word the messages
    (``classifier``, ``Classifier``: ``noun`` capitalized unless given); ``name_field`` is Create<Kind>'s
    name and the list filter (``<operation_noun>Name`` unless given); ``load`` reads a saved model;
    ``train`` trains one from a SUBMITTED record.
    """

    operation_noun: str
    noun: str
    load: Callable[[Path], Any]
    train: Trainer
    job: JobSpec
    name_field: str = ""
    title: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name_field", self.name_field or f"{self.operation_noun}Name")
        object.__setattr__(self, "title", self.title or self.noun.capitalize())

    @property
    def resource_type(self) -> str:
        return resource_type(self.operation_noun)

    @property
    def arn_description(self) -> str:
        """``a document classifier``, ``an entity recognizer``."""
        words = self.resource_type.replace("-", " ")
        return f"{'an' if words[0] in 'aeiou' else 'a'} {words}"

    @property
    def arn_field(self) -> str:
        return f"{self.operation_noun}Arn"

    @property
    def collection(self) -> str:
        """Where the store keeps the models: ``document-classifiers``."""
        return f"{self.resource_type}s"

    @property
    def endpoint_resource_type(self) -> str:
        return f"{self.resource_type}-endpoint"

    def register(self) -> ModelSpec:
        """Register the model kind, the shared operations and the restart hook; returns the spec."""
        register_model_kind(
            ModelKind(self.resource_type, self.endpoint_resource_type, self.model_status, self.load_model)
        )
        noun, job = self.operation_noun, self.job.operation_noun
        operation(f"Describe{noun}")(self.describe_model)
        operation(f"List{noun}s")(self.list_models)
        operation(f"StopTraining{noun}")(self.stop_training)
        operation(f"Delete{noun}")(self.delete_model)
        operation(f"Start{job}")(self.start_job)
        operation(f"Describe{job}")(self.describe_job)
        operation(f"List{job}s")(self.list_jobs)
        on_restart(self.recover)
        return self

    # --- the model kind that endpoints serve ----------------------------------------------------------
    def get(self, ctx: ServiceContext, arn: str) -> Record:
        parts = parse_arn(arn)
        record = ctx.store.get(self.collection, arn) if parts["type"] == self.resource_type else None
        if record is None:
            raise ResourceNotFoundException(f"Could not find specified resource: {arn}")
        return record

    def model_status(self, ctx: ServiceContext, arn: str) -> str:
        return str(self.get(ctx, arn)["Status"])

    def load_model(self, ctx: ServiceContext, arn: str) -> Any:
        record = self.get(ctx, arn)
        if record["Status"] not in TRAINED_STATUSES or not record.get("_model_path"):
            raise ResourceUnavailableException(f"{self.title} {arn} has no trained model")
        return self.load(ctx.store.root / record["_model_path"])

    # --- model operations -----------------------------------------------------------------------------
    def check_create(self, request: Request) -> tuple[str, str | None]:
        """(name, version) of a Create<Kind> request, whose role and language are checked present."""
        field = self.name_field
        name = check_name(require(request, field), field[0].lower() + field[1:])
        version = request.get("VersionName")
        if version is not None:
            check_name(version, "versionName")
        require(request, "DataAccessRoleArn")
        require(request, "LanguageCode")
        return name, version

    def create(
        self,
        ctx: ServiceContext,
        request: Request,
        name: str,
        version: str | None,
        config: dict[str, Any],
        extra_fields: Callable[[str], dict[str, Any]] | None = None,
    ) -> Response:
        """Store a SUBMITTED model and start its training; ``extra_fields(id)``: the kind's own fields."""
        arn = ctx.arn(self.resource_type, name, version)
        token = request.get("ClientRequestToken")
        with ctx.store.lock:
            existing = ctx.store.get(self.collection, arn)
            if existing is not None:
                if token and existing.get("_token") == token:
                    return {self.arn_field: arn}
                what = f"version {version} of " if version else ""
                raise ResourceInUseException(f"A {what}{self.noun} named {name} already exists: {arn}")
            ident = new_id()
            fields = {
                "LanguageCode": request["LanguageCode"],
                "Status": "SUBMITTED",
                "SubmitTime": now(),
                "InputDataConfig": config,
                "DataAccessRoleArn": request["DataAccessRoleArn"],
                "VolumeKmsKeyId": request.get("VolumeKmsKeyId"),
                "VpcConfig": request.get("VpcConfig"),
                "ModelKmsKeyId": request.get("ModelKmsKeyId"),
                "VersionName": version,
                **(extra_fields(ident) if extra_fields else {}),
            }
            ctx.store.put(
                self.collection,
                arn,
                {
                    self.arn_field: arn,
                    **{k: fields[k] for k in MODEL_FIELDS if k in fields},
                    "_id": ident,
                    "_name": name,
                    "_token": token,
                    "_tags": request.get("Tags", []),
                },
            )
        ctx.submit(lambda: self.run_training(ctx, arn), training=True)
        return {self.arn_field: arn}

    def describe_model(self, ctx: ServiceContext, request: Request) -> Response:
        record = self.get(ctx, require(request, self.arn_field))
        return {f"{self.operation_noun}Properties": public(record)}

    def list_models(self, ctx: ServiceContext, request: Request) -> Response:
        records = sorted(ctx.store.list(self.collection), key=lambda r: (r["SubmitTime"], r[self.arn_field]))
        key = f"{self.operation_noun}PropertiesList"
        return _list_response(request, key, records, "Status", self.name_field, lambda r: r["_name"])

    def stop_training(self, ctx: ServiceContext, request: Request) -> Response:
        arn = require(request, self.arn_field)
        with ctx.store.lock:
            record = self.get(ctx, arn)
            if record["Status"] in ("SUBMITTED", "TRAINING"):
                ctx.store.update(self.collection, arn, {"Status": "STOP_REQUESTED"})
        return {}

    def remove(self, ctx: ServiceContext, arn: str, ident: str) -> None:
        ctx.pause()
        ctx.forget_model(arn)
        shutil.rmtree(ctx.store.model_dir(self.resource_type, ident), ignore_errors=True)
        ctx.store.delete(self.collection, arn)

    def delete_model(self, ctx: ServiceContext, request: Request) -> Response:
        arn = require(request, self.arn_field)
        with ctx.store.lock:
            record = self.get(ctx, arn)
            if record["Status"] in IN_TRAINING:
                raise ResourceInUseException(
                    f"{self.title} {arn} is being trained ({record['Status']}); stop it first"
                )
            users = endpoints_using(ctx, arn)
            if users:
                raise ResourceInUseException(f"{self.title} {arn} is used by endpoint(s): {', '.join(users)}")
            if record["Status"] == "DELETING":
                return {}
            ctx.store.update(self.collection, arn, {"Status": "DELETING"})
        ctx.submit(lambda: self.remove(ctx, arn, record["_id"]))
        return {}

    # --- training -------------------------------------------------------------------------------------
    def set_status(self, ctx: ServiceContext, arn: str, status: str, **fields: Any) -> None:
        def change(record: Record) -> None:
            if record["Status"] == "STOP_REQUESTED" and status in (
                "TRAINED",
                "TRAINED_WITH_WARNING",
                "TRAINING",
            ):
                return  # a stop request wins over progress; the worker notices it at its next step
            record["Status"] = status
            record.update(fields)

        ctx.store.update(self.collection, arn, change)

    def stop_requested(self, ctx: ServiceContext, arn: str) -> bool:
        record = ctx.store.get(self.collection, arn)
        return record is None or record["Status"] == "STOP_REQUESTED"

    def mark_stopped(self, ctx: ServiceContext, arn: str) -> None:
        ctx.store.update(
            self.collection,
            arn,
            {"Status": "STOPPED", "Message": "Training was stopped by request", "EndTime": now()},
        )

    def run_training(self, ctx: ServiceContext, arn: str) -> None:
        if self.stop_requested(ctx, arn):
            self.mark_stopped(ctx, arn)
            return
        if not ctx.pause():
            return
        self.set_status(ctx, arn, "TRAINING", TrainingStartTime=now())
        try:
            outcome = self._train(ctx, arn)
        except TrainingDataError as exc:
            self.set_status(ctx, arn, "IN_ERROR", Message=str(exc), EndTime=now(), TrainingEndTime=now())
            return
        except Exception as exc:  # anything else is the service's fault, reported like Comprehend would
            self.set_status(
                ctx, arn, "IN_ERROR", Message=f"Internal error during training: {exc}", EndTime=now()
            )
            raise
        if self.stop_requested(ctx, arn):
            self.mark_stopped(ctx, arn)
            return
        if not ctx.pause():
            return
        timestamp = now()
        self.set_status(ctx, arn, "TRAINED", EndTime=timestamp, TrainingEndTime=timestamp, **outcome)

    def _train(self, ctx: ServiceContext, arn: str) -> dict[str, Any]:
        record = self.get(ctx, arn)
        failure = ctx.faults.take_training_failure()
        if failure is not None:
            raise TrainingDataError(failure)
        return self.train(ctx, record, lambda: self.stop_requested(ctx, arn))

    # --- jobs -----------------------------------------------------------------------------------------
    def job_model_arn(self, ctx: ServiceContext, arn: str) -> str:
        """The model ARN of a job: given directly, or through an endpoint's current model."""
        kind = parse_arn(arn)["type"]
        if kind == self.endpoint_resource_type:
            endpoint = ctx.store.get(ENDPOINTS, arn)
            if endpoint is None:
                raise ResourceNotFoundException(f"Endpoint not found: {arn}")
            return str(endpoint["ModelArn"])
        if kind != self.resource_type:
            raise InvalidRequestException(f"{arn} is not {self.arn_description} ARN")
        return arn

    def start_job(self, ctx: ServiceContext, request: Request) -> Response:
        spec = self.job
        given = request.get(self.arn_field)
        if not given:
            raise InvalidRequestException(spec.missing_model)
        model_arn = self.job_model_arn(ctx, given)
        model = self.get(ctx, model_arn)
        if model["Status"] not in TRAINED_STATUSES:
            raise ResourceUnavailableException(
                f"{self.title} {model_arn} is in status {model['Status']}; it must be TRAINED"
            )
        require(request, "DataAccessRoleArn")
        extra = spec.extra_fields(request, model) if spec.extra_fields else {}
        input_config = dict(require(request, "InputDataConfig", dict))
        parse_s3_uri(require(input_config, "S3Uri"))
        input_config.setdefault("InputFormat", "ONE_DOC_PER_FILE")
        output_config = dict(require(request, "OutputDataConfig", dict))
        parse_s3_uri(require(output_config, "S3Uri"))
        summary = ("JobId", "JobArn", "JobStatus", self.arn_field)
        token = request.get("ClientRequestToken")
        with ctx.store.lock:
            if token:
                for job in ctx.store.list(spec.collection):
                    if job.get("_token") == token:
                        return {k: job[k] for k in summary}
            job_id = new_id()
            output_config["S3Uri"] = join_uri(
                output_config["S3Uri"],
                f"{ctx.account_id}-{spec.output_code}-{job_id}",
                "output",
                "output.tar.gz",
            )
            record = {
                "JobId": job_id,
                "JobArn": ctx.arn(spec.resource_type, job_id),
                "JobName": request.get("JobName"),
                "JobStatus": "SUBMITTED",
                "SubmitTime": now(),
                self.arn_field: model_arn,
                "InputDataConfig": input_config,
                "OutputDataConfig": output_config,
                **extra,
                "DataAccessRoleArn": request["DataAccessRoleArn"],
                "VolumeKmsKeyId": request.get("VolumeKmsKeyId"),
                "VpcConfig": request.get("VpcConfig"),
                "_token": token,
                "_tags": request.get("Tags", []),
            }
            ctx.store.put(spec.collection, job_id, record)
        ctx.submit(lambda: self.run_job(ctx, job_id))
        return {k: record[k] for k in summary}

    def run_job(self, ctx: ServiceContext, job_id: str) -> None:
        jobs = self.job.collection
        if not ctx.pause():
            return
        ctx.store.update(jobs, job_id, {"JobStatus": "IN_PROGRESS"})
        job = ctx.store.get(jobs, job_id)
        if job is None:
            return
        try:
            failure = ctx.faults.take_job_failure()
            if failure is not None:
                raise TrainingDataError(failure)
            lines = self.job.predict(ctx, job, ctx.model(job[self.arn_field]))
            content = ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
            write_tar_gz(ctx.s3, job["OutputDataConfig"]["S3Uri"], {self.job.output_member: content})
        except Exception as exc:
            message = (
                str(exc) if isinstance(exc, TrainingDataError | S3ReadError) else f"Internal error: {exc}"
            )
            ctx.store.update(jobs, job_id, {"JobStatus": "FAILED", "Message": message, "EndTime": now()})
            return
        if not ctx.pause():
            return
        ctx.store.update(jobs, job_id, {"JobStatus": "COMPLETED", "EndTime": now()})

    def describe_job(self, ctx: ServiceContext, request: Request) -> Response:
        job_id = require(request, "JobId")
        record = ctx.store.get(self.job.collection, job_id)
        if record is None:
            raise self.job.not_found(f"Could not find job {job_id}")
        return {f"{self.job.operation_noun}Properties": public(record)}

    def list_jobs(self, ctx: ServiceContext, request: Request) -> Response:
        records = sorted(ctx.store.list(self.job.collection), key=lambda r: (r["SubmitTime"], r["JobId"]))
        key = f"{self.job.operation_noun}PropertiesList"
        return _list_response(request, key, records, "JobStatus", "JobName", lambda r: r.get("JobName"))

    # --- restart --------------------------------------------------------------------------------------
    def recover(self, ctx: ServiceContext) -> None:
        """Work caught in flight by a restart: trainings end IN_ERROR, jobs FAILED, deletions complete."""
        timestamp = now()
        for record in ctx.store.list(self.collection):
            arn, status = record[self.arn_field], record["Status"]
            if status == "DELETING":
                self.remove(ctx, arn, record["_id"])
            elif status in IN_TRAINING:
                ctx.store.update(
                    self.collection,
                    arn,
                    {
                        "Status": "STOPPED" if status == "STOP_REQUESTED" else "IN_ERROR",
                        "Message": (
                            f"The local Comprehend service restarted while the {self.noun} was training"
                        ),
                        "EndTime": timestamp,
                    },
                )
        for job in ctx.store.list(self.job.collection):
            if job["JobStatus"] in ("SUBMITTED", "IN_PROGRESS", "STOP_REQUESTED"):
                ctx.store.update(
                    self.job.collection,
                    job["JobId"],
                    {
                        "JobStatus": "STOPPED" if job["JobStatus"] == "STOP_REQUESTED" else "FAILED",
                        "Message": "The local Comprehend service restarted while the job was running",
                        "EndTime": timestamp,
                    },
                )
