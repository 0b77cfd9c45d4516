"""The offline stack: ``template.yaml`` deployed into moto, Lambda invokes routed to the real handlers.

- The template is translated by aws-sam-translator and created by moto's CloudFormation, so every
  resource, name and environment variable comes from the one template.
- moto ignores ``DefinitionSubstitutions`` and cannot execute a stack-created state machine, so the
  state machine is created again through the API with the substitutions folded in (poll waits 0).
- moto cannot run Lambda code without Docker: a botocore ``before-call.lambda.Invoke`` handler runs the
  function's real handler in this process, with that function's environment from the template.
- S3 uploads under ``train/new/`` start executions with the event EventBridge delivers on AWS (moto has
  no S3 → EventBridge → Step Functions delivery).
"""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import logging
import os
import threading
import time
import traceback
import uuid
import warnings
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote

import boto3
import botocore.handlers
import yaml
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.response import StreamingBody
from comprehend_al.models import ModelKind
from comprehend_al.pointers import Active, Pointers

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
ACCOUNT = "123456789012"
DEPLOY_BUCKET = "offline-deployment-artifacts"
STACK_NAME = "comprehend-al"
# moto's CloudFormation skips what it cannot create (the TLS-only bucket policy, the HTTP API): irrelevant
# offline, where the API is driven through the router; cfn-lint and the contract tests check them
warnings.filterwarnings("ignore", message="Tried to parse AWS::.* not supported by moto")
OFFLINE_PARAMETERS = {"PollSeconds": "0", "MinDocsPerLabel": "10"}


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that understands CloudFormation short-form tags (!Ref, !Sub, !GetAtt, ...)."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = ROOT / "template.yaml") -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)


def translate(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """SAM → CloudFormation, with the code locations pointed at the deployment bucket."""
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
    from samtranslator.translator.transform import transform

    template = copy.deepcopy(template)
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            props["CodeUri"] = f"s3://{DEPLOY_BUCKET}/code.zip"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = f"s3://{DEPLOY_BUCKET}/code.zip"
        elif resource["Type"] == "AWS::Serverless::StateMachine":
            props["Definition"] = json.loads((ROOT / props.pop("DefinitionUri")).read_text())

    class _NoIamPolicies(ManagedPolicyLoader):
        def load(self) -> dict[str, str]:  # offline: no managed policies are looked up
            return {}

    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    try:
        return dict(transform(template, parameters, _NoIamPolicies(None)))
    except InvalidDocumentException as error:  # pragma: no cover - template errors are linted
        raise ValueError("; ".join(str(e) for e in error.causes)) from error


@dataclass
class FunctionSpec:
    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    timeout: int


@dataclass
class LambdaContextStub:
    """What a handler gets as ``context`` (the attributes Powertools reads)."""

    function_name: str
    invoked_function_arn: str = ""
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/offline"
    log_stream_name: str = "offline"
    deadline: float = field(default_factory=lambda: time.time() + 900)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.time()) * 1000))


class LambdaRouter:
    """Runs Lambda invokes in-process: one at a time (Map iterations share this process's environment)."""

    def __init__(self, functions: dict[str, FunctionSpec], base_env: dict[str, str]) -> None:
        self.functions = functions  # by name and by ARN
        self.base_env = base_env
        self.cold_start_hooks: list[Callable[[], None]] = []
        self.faults: dict[str, list[BaseException]] = {}
        self.faults_after: dict[str, list[BaseException]] = {}  # raised once the handler has returned
        self.before_invoke: list[Callable[[str, Any], None]] = []  # (logical id, payload) hooks for tests
        self.after_invoke: list[Callable[[str, Any], None]] = []  # the same, once the invocation ended
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._modules: dict[str, ModuleType] = {}
        self._last_env: dict[str, str] | None = None

    def fail_next(self, logical_id: str, error: BaseException, *, after: bool = False) -> None:
        """Make the next invocation of a function raise ``error`` (its class name is the error name).

        ``after=False``: raised before the handler runs (the Lambda died before doing anything).
        ``after=True``: the handler runs, its side effects happen, then ``error`` replaces its result (the
        Lambda died after its last write); waits for the next invocation whose handler returns.
        """
        (self.faults_after if after else self.faults).setdefault(logical_id, []).append(error)

    def resolve(self, name_or_arn: str) -> FunctionSpec:
        key = unquote(name_or_arn)
        spec = self.functions.get(key) or self.functions.get(key.split(":")[-1])
        if spec is None:
            for candidate in self.functions.values():
                if key.startswith(candidate.arn):
                    return candidate
            raise KeyError(f"no function {name_or_arn!r} in the template")
        return spec

    def _module(self, spec: FunctionSpec) -> ModuleType:
        if spec.logical_id not in self._modules:
            module_file, _, _ = spec.handler.rpartition(".")
            path = spec.code_dir / f"{module_file.replace('.', '/')}.py"
            loaded = importlib.util.spec_from_file_location(f"offline_fn_{spec.logical_id}", path)
            assert loaded and loaded.loader, path
            module = importlib.util.module_from_spec(loaded)
            loaded.loader.exec_module(module)
            self._modules[spec.logical_id] = module
        return self._modules[spec.logical_id]

    def invoke(self, name_or_arn: str, payload: Any) -> tuple[Any, str | None]:
        """(result, function_error): the handler's return value, or Lambda's error payload."""
        spec = self.resolve(name_or_arn)
        # AWS_LAMBDA_FUNCTION_NAME, as Lambda sets it: two functions with the same variables are still two
        # execution environments (a switch between them is a cold start, caches and all)
        own = {**spec.environment, **self.base_env, "AWS_LAMBDA_FUNCTION_NAME": spec.name}
        with self._lock, _environment(own) as env:
            if env != self._last_env:
                for hook in self.cold_start_hooks:
                    hook()
                self._last_env = env
            self.calls.append((spec.logical_id, payload))
            for before in self.before_invoke:
                before(spec.logical_id, payload)
            try:
                faults = self.faults.get(spec.logical_id)
                if faults:
                    raise faults.pop(0)
                handler = getattr(self._module(spec), spec.handler.rpartition(".")[2])
                context = LambdaContextStub(spec.name, spec.arn, deadline=time.time() + spec.timeout)
                result = handler(copy.deepcopy(payload), context)
                late = self.faults_after.get(spec.logical_id)
                if late:
                    raise late.pop(0)
                return result, None
            except Exception as error:
                return {
                    "errorMessage": str(error),
                    "errorType": type(error).__name__,
                    "stackTrace": traceback.format_exception(error)[-5:],
                }, "Unhandled"
            finally:
                for after in self.after_invoke:
                    after(spec.logical_id, payload)

    # botocore before-call handler: short-circuits lambda.Invoke with the handler's result
    def before_call(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        if model.name != "Invoke":
            return None
        name = params["url_path"].split("/functions/", 1)[1].split("/invocations", 1)[0]
        body = params.get("body") or b"{}"
        payload = json.loads(body.decode() if isinstance(body, bytes) else body)
        result, error = self.invoke(name, payload)
        data = json.dumps(result, default=str).encode()
        parsed: dict[str, Any] = {
            "StatusCode": 200,
            "ExecutedVersion": "$LATEST",
            "Payload": StreamingBody(io.BytesIO(data), len(data)),
            "ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": {}},
        }
        if error:
            parsed["FunctionError"] = error
        return AWSResponse(params.get("url", ""), 200, HTTPHeaders(), None), parsed


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[dict[str, str]]:
    # Keys are only ever set, never removed: other threads (moto's Map iterations, the local Comprehend
    # service's boto3 clients) iterate os.environ on every request, and a key removed mid-iteration raises
    # KeyError there. Keys this function added stay set after it returns (values of keys that existed
    # before are restored); every invoke sets its own function's complete environment again.
    saved = {key: os.environ[key] for key in values if key in os.environ}
    os.environ.update(values)
    try:
        yield dict(values)
    finally:
        os.environ.update(saved)


_ROUTER: LambdaRouter | None = None


def _dispatch(model: Any, params: dict[str, Any], **kwargs: Any) -> Any:
    return _ROUTER.before_call(model, params, **kwargs) if _ROUTER else None


def install_router(router: LambdaRouter) -> None:
    """Route every boto3 ``lambda.Invoke`` of this process to ``router`` (sessions created from now on)."""
    global _ROUTER
    _ROUTER = router
    entry = ("before-call.lambda.Invoke", _dispatch)
    if entry not in botocore.handlers.BUILTIN_HANDLERS:
        botocore.handlers.BUILTIN_HANDLERS.append(entry)
    boto3.DEFAULT_SESSION = None  # the next boto3.client() builds a session with the handler registered


def _code_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "offline stack: handlers run from the working tree\n")
    return buffer.getvalue()


class OfflineStack:
    """The application's template deployed into moto (which must already be active: ``mock_aws``)."""

    def __init__(
        self,
        parameters: dict[str, str] | None = None,
        *,
        comprehend_url: str | None = None,
        stack_name: str = STACK_NAME,
        template_path: Path = ROOT / "template.yaml",
    ) -> None:
        self.parameters = {**OFFLINE_PARAMETERS, **(parameters or {})}
        self.comprehend_url = comprehend_url
        self.stack_name = stack_name
        self.template = load_template(template_path)
        self.outputs: dict[str, str] = {}
        self.resources: dict[str, str] = {}
        self.router: LambdaRouter | None = None
        self.state_machine_arn = ""
        self._delivered: set[tuple[str, str]] = set()  # (key, ETag) of uploads whose event was delivered

    # --- deploy --------------------------------------------------------------------------------------
    def deploy(self) -> OfflineStack:
        cfn_template = translate(self.template, self.parameters)
        state_machines = {
            k: v
            for k, v in cfn_template["Resources"].items()
            if v["Type"] == "AWS::StepFunctions::StateMachine"
        }
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=DEPLOY_BUCKET)
        s3.put_object(Bucket=DEPLOY_BUCKET, Key="code.zip", Body=_code_zip())
        cfn = boto3.client("cloudformation", region_name=REGION)
        self._create_stack(cfn, cfn_template)
        stack = cfn.describe_stacks(StackName=self.stack_name)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            raise RuntimeError(f"offline stack: {stack['StackStatus']}: {stack.get('StackStatusReason')}")
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        # moto's CloudFormation ignores VersioningConfiguration: version the data bucket as AWS would
        versioned = self.template["Resources"].get("DataBucket", {}).get("Properties", {})
        if versioned.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(
                Bucket=self.outputs["DataBucketName"], VersioningConfiguration={"Status": "Enabled"}
            )
        paginator = cfn.get_paginator("list_stack_resources")
        for page in paginator.paginate(StackName=self.stack_name):
            for item in page["StackResourceSummaries"]:
                self.resources[item["LogicalResourceId"]] = item["PhysicalResourceId"]
        self.router = LambdaRouter(self._functions(), self._base_env())
        install_router(self.router)
        for logical_id, resource in state_machines.items():
            self.state_machine_arn = self._create_state_machine(logical_id, resource["Properties"])
        # the executing backend only knows the re-created state machine: point the functions at it
        self.router.base_env["STATE_MACHINE_ARN"] = self.state_machine_arn
        return self

    def _create_stack(self, cfn: Any, template: dict[str, Any]) -> None:
        cfn.create_stack(
            StackName=self.stack_name,
            TemplateBody=json.dumps(template),
            Parameters=[
                {"ParameterKey": k, "ParameterValue": v}
                for k, v in self.parameters.items()
                if k in template.get("Parameters", {})
            ],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        )

    def _functions(self) -> dict[str, FunctionSpec]:
        lam = boto3.client("lambda", region_name=REGION)
        specs: dict[str, FunctionSpec] = {}
        for logical_id, resource in self.template["Resources"].items():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            config = lam.get_function_configuration(FunctionName=self.resources[logical_id])
            props = resource["Properties"]
            globals_ = self.template.get("Globals", {}).get("Function", {})
            spec = FunctionSpec(
                logical_id=logical_id,
                name=config["FunctionName"],
                arn=config["FunctionArn"],
                code_dir=ROOT / props["CodeUri"],
                handler=props.get("Handler", globals_.get("Handler", "app.lambda_handler")),
                environment={
                    k: str(v) for k, v in config.get("Environment", {}).get("Variables", {}).items()
                },
                timeout=int(config.get("Timeout", 3)),
            )
            specs[spec.name] = specs[spec.arn] = specs[logical_id] = spec
        return specs

    def _base_env(self) -> dict[str, str]:
        env = {
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("OFFLINE_LOG_LEVEL", "WARNING"),
        }
        if self.comprehend_url:
            env["AWS_ENDPOINT_URL_COMPREHEND"] = self.comprehend_url
        return env

    def _create_state_machine(self, logical_id: str, props: dict[str, Any]) -> str:
        definition = self._substitute(props["DefinitionString"], props.get("DefinitionSubstitutions", {}))
        sfn = boto3.client("stepfunctions", region_name=REGION)
        name = str(self._resolve(props.get("StateMachineName") or logical_id))
        role = f"arn:aws:iam::{ACCOUNT}:role/{logical_id}-offline"
        return str(
            sfn.create_state_machine(name=name, definition=definition, roleArn=role)["stateMachineArn"]
        )

    def _substitute(self, definition: Any, substitutions: dict[str, Any]) -> str:
        text = self._resolve(definition)
        for key, value in substitutions.items():
            text = text.replace("${" + key + "}", str(self._resolve(value)))
        return text

    def _resolve(self, value: Any) -> Any:
        """Enough of CloudFormation's intrinsics for state machine definitions and substitutions."""
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Fn::Join":
                return arg[0].join(str(self._resolve(v)) for v in arg[1])
            if fn == "Ref":
                if arg in self.parameters:
                    return self.parameters[arg]
                default = self._parameter_default(arg)
                return default if default is not None else self.resources[arg]
            if fn == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                if attribute == "Arn" and logical in self.resources:
                    spec = self.router.resolve(logical) if self.router else None
                    if spec:
                        return spec.arn
                raise KeyError(f"cannot resolve {value}")
            if fn == "Fn::Sub" and isinstance(arg, str):
                text = arg
                for key in [*self.template.get("Parameters", {}), *self.resources]:
                    if "${" + key + "}" in text:
                        text = text.replace("${" + key + "}", str(self._resolve({"Ref": key})))
                return text.replace("${AWS::Region}", REGION).replace("${AWS::AccountId}", ACCOUNT)
        if isinstance(value, int | float):
            return value
        raise KeyError(f"cannot resolve {value!r}")

    def _parameter_default(self, name: str) -> str | None:
        default = self.template.get("Parameters", {}).get(name, {}).get("Default")
        return None if default is None else str(default)

    # --- the things a user does ------------------------------------------------------------------------
    @property
    def bucket(self) -> str:
        return self.outputs["DataBucketName"]

    @property
    def parameter_prefix(self) -> str:
        return self.outputs["ParameterPrefix"]

    def put(self, key: str, body: bytes) -> dict[str, Any]:
        """Upload an object (no execution started)."""
        return dict(boto3.client("s3", region_name=REGION).put_object(Bucket=self.bucket, Key=key, Body=body))

    def upload(self, key: str, body: bytes, *, wait: bool = True, timeout: float = 300) -> dict[str, Any]:
        """Upload, then deliver the S3 "Object Created" event to the state machine, as EventBridge does."""
        response = self.put(key, body)
        self._delivered.add((key, response.get("ETag", "").strip('"')))
        execution_arn = self.start_execution(self.object_created_event(key, len(body), response))
        return self.wait(execution_arn, timeout=timeout) if wait else {"executionArn": execution_arn}

    def object_created_event(self, key: str, size: int, put_response: dict[str, Any]) -> dict[str, Any]:
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": ACCOUNT,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [f"arn:aws:s3:::{self.bucket}"],
            "detail": {
                "version": "0",
                "bucket": {"name": self.bucket},
                "object": {
                    "key": key,
                    "size": size,
                    "etag": put_response.get("ETag", "").strip('"'),
                    "version-id": put_response.get("VersionId", ""),
                    "sequencer": uuid.uuid4().hex[:18],
                },
                "request-id": uuid.uuid4().hex[:16],
                "requester": ACCOUNT,
                "reason": "PutObject",
            },
        }

    def deliver_new_uploads(self) -> list[str]:
        """Start an execution for each object under ``train/new/`` not delivered yet (objects written by
        functions, e.g. FlushLabels, which on AWS reach the state machine through EventBridge)."""
        s3 = boto3.client("s3", region_name=REGION)
        listed = s3.list_objects_v2(Bucket=self.bucket, Prefix="train/new/").get("Contents", [])
        arns = []
        for item in listed:
            marker = (item["Key"], item["ETag"].strip('"'))
            if marker not in self._delivered:
                self._delivered.add(marker)
                response = {"ETag": item["ETag"], "VersionId": ""}
                arns.append(
                    self.start_execution(self.object_created_event(item["Key"], item["Size"], response))
                )
        return arns

    def start_execution(self, event: dict[str, Any]) -> str:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        response = sfn.start_execution(
            stateMachineArn=self.state_machine_arn, name=f"upload-{uuid.uuid4().hex}", input=json.dumps(event)
        )
        return str(response["executionArn"])

    def operate(
        self, operation: dict[str, Any], *, wait: bool = True, timeout: float = 300
    ) -> dict[str, Any]:
        """Start an execution with ``{"rollback": ...}`` or ``{"batch": ...}``, as ``make rollback`` and the
        CLI do on AWS (``aws stepfunctions start-execution --input ...``)."""
        sfn = boto3.client("stepfunctions", region_name=REGION)
        name = f"{next(iter(operation))}-{uuid.uuid4().hex}"
        arn = str(
            sfn.start_execution(
                stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(operation)
            )["executionArn"]
        )
        return self.wait(arn, timeout=timeout) if wait else {"executionArn": arn}

    def rollback(
        self,
        kind: ModelKind,
        version: str,
        *,
        by: str = "offline",
        reason: str = "",
        hold_batches_after: bool = False,
    ) -> dict[str, Any]:
        """Bring ``version`` back into service (the one-command rollback)."""
        request = {"kind": kind.value, "version": version, "by": by, "reason": reason}
        return self.operate({"rollback": {**request, "hold_batches_after": hold_batches_after}})

    def change_batch(
        self, kind: ModelKind, batch_id: str, action: str, *, by: str = "offline", reason: str = ""
    ) -> dict[str, Any]:
        """``readmit`` a held batch (it trains at once) or ``drop`` one from the data."""
        request = {"kind": kind.value, "batch_id": batch_id, "action": action, "by": by, "reason": reason}
        return self.operate({"batch": request})

    def wait(self, execution_arn: str, *, timeout: float = 300) -> dict[str, Any]:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        deadline = time.monotonic() + timeout
        while True:
            description = sfn.describe_execution(executionArn=execution_arn)
            if description["status"] != "RUNNING":
                return dict(description)
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {execution_arn} still running after {timeout} s")
            time.sleep(0.05)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        events: list[Any] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            page = sfn.get_execution_history(**kwargs)
            events.extend(page["events"])
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]

    def active(self, kind: ModelKind = ModelKind.CLASSIFIER) -> Active:
        """What serves ``kind`` (the active pointer, read as the functions read it)."""
        return Pointers(_StackParameters(self)).read(kind)

    def set_active(self, kind: ModelKind, model_arn: str | None, endpoint_arn: str | None) -> None:
        """Point ``kind`` at a model and endpoint, as a promotion (or an operator) would."""
        source = _StackParameters(self)
        Pointers(source, source).restore(kind, Active(model_arn, endpoint_arn), description="set offline")

    def parameter(self, name: str) -> str | None:
        ssm = boto3.client("ssm", region_name=REGION)
        try:
            return str(ssm.get_parameter(Name=f"{self.parameter_prefix}/{name}")["Parameter"]["Value"])
        except ssm.exceptions.ParameterNotFound:
            return None


class _StackParameters:
    """The stack's SSM parameters under its prefix (what :class:`Pointers` reads and writes)."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack

    def get(self, relative: str, *, force: bool = False) -> str | None:
        value = self.stack.parameter(relative)
        return None if value is None or value.strip().lower() in {"", "none"} else value

    def put(self, relative: str, value: str, *, description: str = "") -> None:
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name=f"{self.stack.parameter_prefix}/{relative}", Value=value, Type="String", Overwrite=True
        )


MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}}


class _AbsentPathIsNotAnError(logging.Filter):
    """moto's interpreter logs an ERROR each time a Choice's ``IsPresent`` looks at an absent path (the
    state machine's ``Operation`` choice does on every upload): the answer is ``false``, not a failure."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "NoSuchJsonPathError" not in record.getMessage()


logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component").addFilter(
    _AbsentPathIsNotAnError()
)


REVIEW_FLOW = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:flow-definition/{STACK_NAME}-review"


@dataclass
class Offline:
    """A running offline stack: moto with the template deployed, the local Comprehend service and the
    local A2I runtime (human review), whose completed loops go to ProcessReview as EventBridge would."""

    stack: OfflineStack
    comprehend: Any  # local.comprehend.server.ComprehendService
    a2i: Any = None  # local.a2i.server.A2IService

    @property
    def router(self) -> LambdaRouter:
        assert self.stack.router is not None
        return self.stack.router


@contextmanager
def running(
    state_dir: Path,
    parameters: dict[str, str] | None = None,
    *,
    review: bool = False,
    comprehend_port: int = 0,
    **service_options: Any,
) -> Iterator[Offline]:
    """Start moto, the local Comprehend service and the deployed template; stop them all on exit.

    ``review``: also start the local A2I runtime with a flow definition the template is told about
    (``ReviewFlowDefinitionArn``), so uncertain predictions go to human review.
    ``comprehend_port``: the local Comprehend service's port on 127.0.0.1 (0: any free port).
    """
    from moto import mock_aws

    from local.comprehend.server import ComprehendService

    if review:
        parameters = {"ReviewFlowDefinitionArn": REVIEW_FLOW, **(parameters or {})}
    with mock_aws(config=MOTO_CONFIG):  # type: ignore[call-overload]
        service = ComprehendService(state_dir, region=REGION, account_id=ACCOUNT, **service_options)
        url = service.start(port=comprehend_port)
        a2i = None
        try:
            stack = OfflineStack(parameters, comprehend_url=url).deploy()
            router = stack.router
            assert router is not None
            router.cold_start_hooks.append(reset_layer_caches)
            if review:
                a2i = _start_a2i(state_dir.parent / "a2i", stack, router, parameters or {})
            yield Offline(stack, service, a2i)
        finally:
            if a2i is not None:
                a2i.stop()
            service.stop()


def _start_a2i(state_dir: Path, stack: OfflineStack, router: LambdaRouter, parameters: dict[str, str]) -> Any:
    from local.a2i.server import A2IService

    def on_status_change(event: dict[str, Any]) -> None:  # the template's EventBridge rule, offline
        router.invoke("ProcessReviewFunction", event)

    a2i = A2IService(
        state_dir,
        output_bucket=stack.bucket,
        output_prefix="review/output/",
        s3_client_factory=lambda: boto3.client("s3", region_name=REGION),
        on_status_change=on_status_change,
        flow_definitions=[parameters["ReviewFlowDefinitionArn"]],
    )
    router.base_env["AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME"] = a2i.start()
    return a2i


def reset_layer_caches() -> None:
    """What a cold start does to the layer: every per-process dependency and cache starts empty again."""
    from comprehend_al import wiring

    wiring.reset()
