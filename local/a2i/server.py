"""A local Amazon Augmented AI (A2I) runtime: the ``sagemaker-a2i-runtime`` REST-JSON API plus a review page.

boto3 and the AWS CLI reach it unchanged through ``endpoint_url`` or the environment variable
``AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME`` (botocore's name for the service id "SageMaker A2I Runtime").
Routes, as botocore's service model has them:

    POST   /human-loops                  StartHumanLoop     (JSON body)
    GET    /human-loops                  ListHumanLoops     (query string)
    GET    /human-loops/{HumanLoopName}  DescribeHumanLoop
    DELETE /human-loops/{HumanLoopName}  DeleteHumanLoop
    POST   /human-loops/stop             StopHumanLoop      (JSON body)

Errors answer the modelled HTTP status with ``x-amzn-ErrorType: <Code>`` and ``{"Message": "..."}``.
Signatures are not verified. For people, ``GET /review`` lists the loops in progress with one form each;
``POST /review/<loop>`` records the answer the way A2I does: ``output.json`` written to S3, the loop
Completed, and the EventBridge "SageMaker A2I HumanLoop Status Change" event handed to ``on_status_change``.

Differences from AWS, on purpose: flow definitions are not stored (any well-formed ARN is accepted unless
``flow_definitions`` lists the known ones); StopHumanLoop goes straight to Stopped; a deleted loop's name
may be used again.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from comprehend_al.annotation.consolidate import ANSWER_FIELD, loop_kind
from comprehend_al.annotation.spans import parse_answers, spans_json
from comprehend_al.errors import InvalidRequest

from local.a2i import annotate, review
from local.a2i.errors import (
    A2IError,
    ConflictException,
    InternalServerException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    UnknownOperationException,
    ValidationException,
    error_for_code,
)
from local.a2i.store import (
    COMPLETED,
    IN_PROGRESS,
    STOPPED,
    STOPPING,
    HumanLoop,
    LoopStore,
    iso_ms,
    parse_iso,
    utc_now,
)
from local.faults import CallFaults
from local.httpserver import LocalService, Request, Resolver, Response, Router, json_object

LOG = logging.getLogger("local.a2i")

CONTENT_TYPE = "application/json"
EVENT_SOURCE = "aws.sagemaker"
EVENT_DETAIL_TYPE = "SageMaker A2I HumanLoop Status Change"
DEFAULT_WORKER_ID = "local-reviewer"
DEFAULT_WORKERS = {"entities": 2, "adjudication": 1, "classifier": 1}
ENTITY_ANSWER_FIELD = ANSWER_FIELD  # answerContent {"entities": {"<item id>": [spans]}}

# Constraints from botocore's service model (botocore checks presence and minimums, not these).
LOOP_NAME_RE = re.compile(r"^[a-z0-9](-*[a-z0-9])*$")
LOOP_NAME_MAX = 63
FLOW_ARN_RE = re.compile(r"^arn:aws[a-z\-]*:sagemaker:([a-z0-9\-]*):([0-9]{12}):flow-definition/(.+)$")
FLOW_ARN_MAX = 1024
INPUT_CONTENT_MAX = 3_145_728
CONTENT_CLASSIFIERS = frozenset({"FreeOfPersonallyIdentifiableInformation", "FreeOfAdultContent"})
CONTENT_CLASSIFIERS_MAX = 256
MAX_RESULTS_MAX = 100
SORT_ORDERS = ("Ascending", "Descending")

StatusListener = Callable[[dict[str, Any]], None]


class Faults(CallFaults):
    """Errors for the next calls of an operation: ``fail("StartHumanLoop", "ThrottlingException")``."""

    error_for_code = error_for_code
    throttling_code = "ThrottlingException"


class A2IService(LocalService):
    """A local A2I runtime with a reviewer web page.

    ``state_dir``: where loops persist (a new service on the same directory finds them again).
    ``output_bucket`` / ``output_prefix``: where answers go (a flow definition's ``S3OutputPath``):
    ``s3://<bucket>/<prefix><flow name>/YYYY/MM/DD/hh/mm/ss/<loop name>/output.json``, the time being the
    loop's creation time in UTC.
    ``s3_client_factory``: returns the boto3 S3 client that writes them (default: ``boto3.client("s3")``,
    which reaches moto under ``mock_aws``).
    ``on_status_change``: receives the EventBridge event of each loop that ends (Completed, Stopped),
    synchronously, after the loop is saved; its exceptions are logged, never raised (EventBridge does
    not report a target's failure back to A2I either).
    ``flow_definitions``: the flow definition ARNs that exist (None: any well-formed ARN).
    ``max_in_progress``: loops allowed InProgress at once (beyond: ServiceQuotaExceededException).
    ``workers_per_kind``: distinct workers a loop needs by its input's ``kind`` (a flow definition's
    NumberOfHumanWorkersPerDataObject): entities 2, adjudication and classifier loops 1 unless given.
    """

    def __init__(
        self,
        state_dir: Path | str,
        *,
        output_bucket: str,
        output_prefix: str = "a2i-output/",
        s3_client_factory: Callable[[], Any] | None = None,
        on_status_change: StatusListener | None = None,
        flow_definitions: Iterable[str] | None = None,
        max_in_progress: int = 1000,
        workers_per_kind: dict[str, int] | None = None,
    ) -> None:
        super().__init__(s3_client_factory)
        self.state_dir = Path(state_dir)
        self.output_bucket = output_bucket
        self.output_prefix = (
            output_prefix if not output_prefix or output_prefix.endswith("/") else output_prefix + "/"
        )
        self.on_status_change = on_status_change
        self.flow_definitions = frozenset(flow_definitions) if flow_definitions is not None else None
        self.max_in_progress = max_in_progress
        self.workers_per_kind = {**DEFAULT_WORKERS, **(workers_per_kind or {})}
        self.faults = Faults()
        self.store = LoopStore(self.state_dir)

    # --- lifecycle -----------------------------------------------------------------------------------
    thread_name = "a2i-http"
    poll_interval = 0.05
    logger = LOG

    def _log_listening(self, url: str) -> None:
        LOG.info("local A2I listening on %s (review page %s/review, state in %s)", url, url, self.state_dir)

    def stop(self) -> None:
        """Stop serving (loops stay on disk)."""
        self._stop_serving()
        self.url = None

    # --- the Python API (automatic reviewers, the offline stack) -------------------------------------
    def in_progress(self) -> list[HumanLoop]:
        """The loops in progress, oldest first."""
        return sorted(
            (loop for loop in self.store.all() if loop.status == IN_PROGRESS),
            key=lambda loop: (loop.created, loop.name),
        )

    def pending(self) -> list[dict[str, Any]]:
        """The loops in progress, oldest first: name, ARNs, creation time and the parsed input."""
        return [
            {
                "humanLoopName": loop.name,
                "humanLoopArn": loop.arn,
                "flowDefinitionArn": loop.flow_definition_arn,
                "creationTime": loop.creation_time,
                "inputContent": loop.input_document(),
            }
            for loop in self.in_progress()
        ]

    def complete(
        self,
        loop_name: str,
        answers: dict[str, Any],
        worker_id: str = DEFAULT_WORKER_ID,
        *,
        acceptance_time: datetime | None = None,
    ) -> str:
        """Answer a loop in progress as a reviewer would; returns the ``output.json`` S3 URI.

        Classifier loops: ``answers`` maps each item id (or its form field ``label-<id>``) to one of the
        loop's labels; every item needs one; the loop completes at once.
        Entity and adjudication loops (``"kind"`` in the input): ``answers`` maps each item id to its spans
        ``[{"BeginOffset", "EndOffset", "Type"}]`` (``[]``: no entities), checked against the text and the
        loop's types. The loop completes when :meth:`workers_required` distinct workers have answered
        (``""`` is returned until then); ``output.json`` then holds every worker's answer.
        Raises ResourceNotFoundException (no such loop), ValidationException (a bad answer; a classifier
        loop not in progress) or ConflictException (an annotation loop answered or ended meanwhile, or
        this worker's second answer: the page the person worked on is stale).
        """
        with self.store.lock:
            loop = self._get(loop_name)
            document = loop.input_document()
            kind = annotation_kind(document)
            if loop.status != IN_PROGRESS:
                stale = ConflictException if kind else ValidationException
                raise stale(f"Human loop {loop_name} is {loop.status}, not InProgress")
            submitted = utc_now()
            accepted = min(max(acceptance_time or submitted, loop.created), submitted)
            if kind is None:
                given = [
                    self._human_answer(_answer_content(document, answers), worker_id, accepted, submitted)
                ]
            else:
                given = list(loop.extra.get("answers", []))
                if any(answer["workerId"] == worker_id for answer in given):
                    raise ConflictException(f"{worker_id} has already answered human loop {loop_name}")
                content = {ENTITY_ANSWER_FIELD: _entity_answer(document, answers)}
                given.append(self._human_answer(content, worker_id, accepted, submitted))
                loop.extra = {**loop.extra, "answers": given}
                if len(given) < self.workers_required(document):
                    loop.updated_time = iso_ms(submitted)
                    self.store.put(loop)
                    LOG.info("human loop %s answered by %s (%d so far)", loop.name, worker_id, len(given))
                    return ""
            output_uri = self._write_output(loop, document, given)
            loop.status = COMPLETED
            loop.output_s3_uri = output_uri
            loop.updated_time = iso_ms(submitted)
            self.store.put(loop)
        LOG.info("human loop %s completed by %s: %s", loop.name, worker_id, output_uri)
        self._emit(loop)
        return output_uri

    def describe(self, name: str) -> HumanLoop:
        """One loop as stored (ResourceNotFoundException when there is none)."""
        return self._get(name)

    def workers_required(self, document: Any) -> int:
        """Distinct workers a loop needs (A2I's NumberOfHumanWorkersPerDataObject): by the input's kind."""
        return max(1, self.workers_per_kind.get(annotation_kind(document) or "classifier", 1))

    def answered_by(self, loop: HumanLoop) -> list[str]:
        """The workers who answered a loop that still waits for others."""
        return [str(answer["workerId"]) for answer in loop.extra.get("answers", [])]

    def _human_answer(
        self, content: dict[str, Any], worker_id: str, accepted: datetime, submitted: datetime
    ) -> dict[str, Any]:
        return {
            "acceptanceTime": iso_ms(accepted),
            "answerContent": content,
            "submissionTime": iso_ms(submitted),
            "timeSpentInSeconds": round((submitted - accepted) / timedelta(seconds=1), 3),
            "workerId": worker_id,
            "workerMetadata": {
                "identityData": {
                    "identityProviderType": "Local",
                    "issuer": self.url or "local-a2i",
                    "sub": worker_id,
                }
            },
        }

    # --- operations ----------------------------------------------------------------------------------
    def start_human_loop(self, request: dict[str, Any]) -> dict[str, Any]:
        name = _loop_name(request.get("HumanLoopName"))
        flow_arn = self._flow_arn(request.get("FlowDefinitionArn"))
        loop_input = request.get("HumanLoopInput")
        if not isinstance(loop_input, dict) or not isinstance(loop_input.get("InputContent"), str):
            raise ValidationException("HumanLoopInput.InputContent is required and must be a string")
        content = loop_input["InputContent"]
        if len(content) > INPUT_CONTENT_MAX:
            raise ValidationException(
                f"HumanLoopInput.InputContent is longer than {INPUT_CONTENT_MAX} characters"
            )
        try:
            json.loads(content)
        except ValueError as exc:
            raise ValidationException(f"HumanLoopInput.InputContent is not valid JSON: {exc}") from exc
        data_attributes = request.get("DataAttributes")
        if data_attributes is not None:
            _check_data_attributes(data_attributes)
        region, account = _arn_parts(flow_arn)
        with self.store.lock:
            if self.store.get(name) is not None:
                raise ConflictException(f"A human loop named {name} already exists")
            in_progress = sum(1 for loop in self.store.all() if loop.status == IN_PROGRESS)
            if in_progress >= self.max_in_progress:
                raise ServiceQuotaExceededException(
                    f"{in_progress} human loops are in progress already (limit {self.max_in_progress})"
                )
            loop = HumanLoop(
                name=name,
                arn=f"arn:aws:sagemaker:{region}:{account}:human-loop/{name}",
                flow_definition_arn=flow_arn,
                input_content=content,
                creation_time=iso_ms(utc_now()),
                data_attributes=data_attributes,
            )
            self.store.put(loop)
        return {"HumanLoopArn": loop.arn}

    def describe_human_loop(self, name: str) -> dict[str, Any]:
        loop = self._get(_loop_name(name))
        answer: dict[str, Any] = {
            "CreationTime": loop.creation_time,
            "HumanLoopStatus": loop.status,
            "HumanLoopName": loop.name,
            "HumanLoopArn": loop.arn,
            "FlowDefinitionArn": loop.flow_definition_arn,
        }
        if loop.failure_code is not None:
            answer["FailureCode"] = loop.failure_code
        if loop.failure_reason is not None:
            answer["FailureReason"] = loop.failure_reason
        if loop.output_s3_uri is not None:
            answer["HumanLoopOutput"] = {"OutputS3Uri": loop.output_s3_uri}
        return answer

    def list_human_loops(self, query: dict[str, str]) -> dict[str, Any]:
        flow_arn = self._flow_arn(query.get("FlowDefinitionArn"), must_exist=ResourceNotFoundException)
        after = _query_time(query, "CreationTimeAfter")
        before = _query_time(query, "CreationTimeBefore")
        order = query.get("SortOrder", "Descending")
        if order not in SORT_ORDERS:
            raise ValidationException(f"SortOrder must be one of {', '.join(SORT_ORDERS)}")
        max_results = _max_results(query.get("MaxResults"))
        loops = [
            loop
            for loop in self.store.all()
            if loop.flow_definition_arn == flow_arn
            and (after is None or loop.created >= after)
            and (before is None or loop.created <= before)
        ]
        loops.sort(key=lambda loop: (loop.creation_time, loop.name), reverse=order == "Descending")
        if "NextToken" in query:  # the position of the last loop returned: go on strictly after it
            position = _decode_token(query["NextToken"])
            ascending = order == "Ascending"
            loops = [
                loop
                for loop in loops
                if (
                    (loop.creation_time, loop.name) > position
                    if ascending
                    else (loop.creation_time, loop.name) < position
                )
            ]
        page, rest = loops[:max_results], loops[max_results:]
        answer: dict[str, Any] = {
            "HumanLoopSummaries": [
                {
                    "HumanLoopName": loop.name,
                    "HumanLoopStatus": loop.status,
                    "CreationTime": loop.creation_time,
                    "FlowDefinitionArn": loop.flow_definition_arn,
                    **({"FailureReason": loop.failure_reason} if loop.failure_reason else {}),
                }
                for loop in page
            ]
        }
        if rest and page:
            answer["NextToken"] = _encode_token((page[-1].creation_time, page[-1].name))
        return answer

    def stop_human_loop(self, request: dict[str, Any]) -> dict[str, Any]:
        name = _loop_name(request.get("HumanLoopName"))
        with self.store.lock:
            loop = self._get(name)
            if loop.status in (STOPPED, STOPPING):
                return {}
            if loop.status != IN_PROGRESS:
                raise ValidationException(f"Human loop {name} is {loop.status} and cannot be stopped")
            loop.status = STOPPED
            loop.updated_time = iso_ms(utc_now())
            self.store.put(loop)
        self._emit(loop)
        return {}

    def delete_human_loop(self, name: str) -> dict[str, Any]:
        name = _loop_name(name)
        with self.store.lock:
            loop = self._get(name)
            if loop.status == IN_PROGRESS:
                raise ValidationException(f"Human loop {name} is InProgress: stop it before deleting it")
            self.store.delete(name)
        return {}

    # --- dispatch ------------------------------------------------------------------------------------
    def dispatch(self, method: str, path: str, query: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """Run one API request; returns (HTTP status, JSON body). Errors carry their code in ``__type``."""
        try:
            found = API.match(method, path)
            if found is None:
                raise UnknownOperationException(f"No operation for {method} {path}")
            route, params = found
            call = ApiCall(params, query, json_object(body, ValidationException) if method == "POST" else {})
            self.faults.check(route.name)
            return 200, route.handler(self, call)
        except A2IError as err:
            return err.status, {"__type": err.code, **err.body()}
        except Exception as exc:
            LOG.error("internal error: %s", traceback.format_exc())
            internal = InternalServerException(f"Internal error: {exc}")
            return internal.status, {"__type": internal.code, **internal.body()}

    # --- internals -----------------------------------------------------------------------------------
    def _get(self, name: str) -> HumanLoop:
        loop = self.store.get(name)
        if loop is None:
            raise ResourceNotFoundException(f"Human loop {name} does not exist")
        return loop

    def _flow_arn(self, value: Any, *, must_exist: type[A2IError] = ValidationException) -> str:
        if not isinstance(value, str) or not value:
            raise ValidationException("FlowDefinitionArn is required")
        if len(value) > FLOW_ARN_MAX or not FLOW_ARN_RE.match(value):
            raise ValidationException(f"FlowDefinitionArn is not a flow definition ARN: {value}")
        if self.flow_definitions is not None and value not in self.flow_definitions:
            raise must_exist(f"Flow definition {value} does not exist")
        return value

    def _write_output(self, loop: HumanLoop, document: Any, answers: list[dict[str, Any]]) -> str:
        created = loop.created
        key = f"{self.output_prefix}{loop.flow_name}/{created:%Y/%m/%d/%H/%M/%S}/{loop.name}/output.json"
        output = {
            "flowDefinitionArn": loop.flow_definition_arn,
            "humanAnswers": answers,
            "humanLoopName": loop.name,
            "inputContent": document,
        }
        self.s3.put_object(
            Bucket=self.output_bucket,
            Key=key,
            Body=json.dumps(output, ensure_ascii=False).encode("utf-8"),
            ContentType="application/json",
        )
        return f"s3://{self.output_bucket}/{key}"

    def status_event(self, loop: HumanLoop) -> dict[str, Any]:
        """The EventBridge event A2I publishes when ``loop`` changes status."""
        region, account = _arn_parts(loop.flow_definition_arn)
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": EVENT_DETAIL_TYPE,
            "source": EVENT_SOURCE,
            "account": account,
            "time": (loop.updated_time or loop.creation_time)[:19] + "Z",
            "region": region,
            "resources": [loop.arn],
            "detail": {
                "creationTime": loop.creation_time,
                "failureCode": loop.failure_code,
                "failureReason": loop.failure_reason,
                "flowDefinitionArn": loop.flow_definition_arn,
                "humanLoopArn": loop.arn,
                "humanLoopName": loop.name,
                "humanLoopOutput": {"outputS3Uri": loop.output_s3_uri} if loop.output_s3_uri else None,
                "humanLoopStatus": loop.status,
            },
        }

    def _emit(self, loop: HumanLoop) -> None:
        if self.on_status_change is None:
            return
        try:
            self.on_status_change(self.status_event(loop))
        except Exception:
            LOG.exception("on_status_change failed for human loop %s", loop.name)


# --- request checks --------------------------------------------------------------------------------------
def _loop_name(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationException("HumanLoopName is required")
    if len(value) > LOOP_NAME_MAX or not LOOP_NAME_RE.match(value):
        raise ValidationException(
            f"HumanLoopName must be 1-{LOOP_NAME_MAX} lower-case letters, digits and hyphens: {value!r}"
        )
    return value


def _arn_parts(flow_arn: str) -> tuple[str, str]:
    match = FLOW_ARN_RE.match(flow_arn)
    assert match is not None  # checked by _flow_arn
    return match.group(1), match.group(2)


def _check_data_attributes(value: Any) -> None:
    classifiers = value.get("ContentClassifiers") if isinstance(value, dict) else None
    if not isinstance(classifiers, list):
        raise ValidationException("DataAttributes.ContentClassifiers is required and must be a list")
    if len(classifiers) > CONTENT_CLASSIFIERS_MAX:
        raise ValidationException(
            f"DataAttributes.ContentClassifiers has more than {CONTENT_CLASSIFIERS_MAX} items"
        )
    unknown = [item for item in classifiers if item not in CONTENT_CLASSIFIERS]
    if unknown:
        raise ValidationException(
            f"DataAttributes.ContentClassifiers must be among {sorted(CONTENT_CLASSIFIERS)}: {unknown}"
        )


def _query_time(query: dict[str, str], name: str) -> datetime | None:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        if re.fullmatch(r"\d+(\.\d+)?", raw):
            return datetime.fromtimestamp(float(raw), tz=utc_now().tzinfo)
        return parse_iso(raw)
    except (ValueError, OverflowError) as exc:
        raise ValidationException(f"{name} is not an ISO 8601 timestamp: {raw!r}") from exc


def _max_results(raw: str | None) -> int:
    if raw is None:
        return MAX_RESULTS_MAX
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValidationException(f"MaxResults must be an integer: {raw!r}") from exc
    if not 1 <= value <= MAX_RESULTS_MAX:
        raise ValidationException(f"MaxResults must be between 1 and {MAX_RESULTS_MAX}")
    return value


def _encode_token(position: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(position)).encode("utf-8")).decode("ascii")


def _decode_token(token: str) -> tuple[str, str]:
    try:
        creation_time, name = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        return str(creation_time), str(name)
    except (ValueError, TypeError, binascii.Error, UnicodeEncodeError) as exc:
        raise ValidationException("NextToken is not valid") from exc


def annotation_kind(document: Any) -> str | None:
    """``entities`` or ``adjudication`` for an annotation loop's input; None for a classifier loop."""
    return loop_kind(document)


def _entity_answer(document: Any, answers: Any) -> dict[str, list[dict[str, Any]]]:
    """One worker's spans per item, checked server side (offsets inside the text, known types, no overlap)."""
    try:
        parsed = parse_answers(answers, document)
    except InvalidRequest as err:
        raise ValidationException(str(err)) from err
    return {item_id: spans_json(spans) for item_id, spans in parsed.items()}


def _answer_content(document: Any, answers: dict[str, str]) -> dict[str, str]:
    """``{"label-<id>": label}`` for every item of the loop, in input order, checked against its labels."""
    items = review.review_items(document)
    if not items:
        raise ValidationException("The loop's input has no items to answer")
    labels = review.review_labels(document)
    by_id = {item.id: item for item in items}
    chosen: dict[str, str] = {}
    for key, value in answers.items():
        if key in by_id:
            item_id = key
        elif key.startswith(review.ANSWER_PREFIX) and key[len(review.ANSWER_PREFIX) :] in by_id:
            item_id = key[len(review.ANSWER_PREFIX) :]
        else:
            raise ValidationException(f"No item {key!r} in this loop")
        if not isinstance(value, str) or not value.strip():
            raise ValidationException(f"Empty answer for item {item_id!r}")
        if labels and value not in labels:
            raise ValidationException(f"{value!r} is not one of the loop's labels for item {item_id!r}")
        chosen[item_id] = value
    missing = [item.id for item in items if item.id not in chosen]
    if missing:
        raise ValidationException(f"No answer for item(s) {', '.join(missing)}")
    return {item.field: chosen[item.id] for item in items}


# --- the API's routes: botocore's service model ----------------------------------------------------------
@dataclass(frozen=True)
class ApiCall:
    """One API request: the route's ``params``, the raw ``query`` string, the JSON ``body`` of a POST."""

    params: dict[str, str]
    query: str
    body: dict[str, Any]


API: Router[Callable[[A2IService, ApiCall], dict[str, Any]]] = Router()


@API.post("/human-loops", name="StartHumanLoop")
def _start_human_loop(service: A2IService, call: ApiCall) -> dict[str, Any]:
    return service.start_human_loop(call.body)


@API.get("/human-loops", name="ListHumanLoops")
def _list_human_loops(service: A2IService, call: ApiCall) -> dict[str, Any]:
    query = {key: values[-1] for key, values in parse_qs(call.query, keep_blank_values=True).items()}
    return service.list_human_loops(query)


@API.post("/human-loops/stop", name="StopHumanLoop")
def _stop_human_loop(service: A2IService, call: ApiCall) -> dict[str, Any]:
    return service.stop_human_loop(call.body)


@API.get("/human-loops/<name>", name="DescribeHumanLoop")
def _describe_human_loop(service: A2IService, call: ApiCall) -> dict[str, Any]:
    return service.describe_human_loop(call.params["name"])


@API.delete("/human-loops/<name>", name="DeleteHumanLoop")
def _delete_human_loop(service: A2IService, call: ApiCall) -> dict[str, Any]:
    return service.delete_human_loop(call.params["name"])


# --- HTTP: the API, the review page (web/review/) and a health check -------------------------------------
def _api(service: A2IService, request: Request) -> Response:
    """Every request no page route takes is an API call; its error code travels in ``x-amzn-ErrorType``."""
    status, payload = service.dispatch(request.method, request.path, request.query, request.body)
    headers = {"x-amzn-ErrorType": payload.pop("__type")} if "__type" in payload else {}
    return Response.json(status, payload, content_type=CONTENT_TYPE, headers=headers)


app: Resolver[A2IService] = Resolver(not_found=_api, not_found_methods=("GET", "POST", "DELETE"))
app.include_router(review.router, prefix="/review")
app.include_router(annotate.router, prefix="/annotate")


@app.get("/")
def _home(service: A2IService, request: Request) -> Response:
    return Response.redirect("/review")


@app.get("/health")
def _health(service: A2IService, request: Request) -> Response:
    return Response.json(200, {"status": "ok"}, content_type=CONTENT_TYPE)


A2IService.resolver = app
