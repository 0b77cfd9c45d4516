"""One offline session of a command: its own state, the operator's inbox, progress, and what it leaves.

State is per run: each command that starts the stack gets ``<home>/runs/<id>/`` (the local Comprehend
service's models, jobs and endpoints; the local A2I runtime's loops), deleted when the command ends, so no
endpoint of an earlier run serves in a later one. ``--state-dir DIR`` keeps the state in DIR instead (moto
itself always starts empty: endpoints an earlier run left in DIR are deleted at start, since no pointer of
the fresh stack names them). ``<home>`` is ``.local-state/`` in the repository (``COMPREHEND_AL_HOME``);
it also holds ``registry.json`` (the registry of the last run) and ``serve.json`` (the running ``serve``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from tqdm import tqdm

from local.cli.base import ROOT, Arg, say

# functions the state machine calls, as the demo names them (polls are shown live, not in the trail)
STEP_LABELS = {
    "PrepareTrainingDataFunction": "validate + merge",
    "GuardBatchesFunction": "guard",
    "StartModelBuildingFunction": "train",
    "GetModelStatusFunction": "train",
    "StartTestJobFunction": "test job",
    "GetJobStatusFunction": "test job",
    "EvaluateModelFunction": "evaluate",
    "ModelSelectionFunction": "select",
    "StartEndpointFunction": "endpoint",
    "GetEndpointStatusFunction": "endpoint",
    "PromoteModelFunction": "promote (SSM)",
    "DeleteEndpointFunction": "delete old endpoint",
    "FinishRunFunction": "finish",
    "HandleFailureFunction": "clean up failure",
}
POLLS = {"GetModelStatusFunction", "GetJobStatusFunction", "GetEndpointStatusFunction"}


def home() -> Path:
    return Path(os.environ.get("COMPREHEND_AL_HOME") or ROOT / ".local-state")


def serve_file(state_dir: Path | None = None) -> Path:
    return (state_dir or home()) / "serve.json"


def last_registry(state_dir: Path | None = None) -> Path:
    return (state_dir or home()) / "registry.json"


STATE_DIR = Arg(
    "--state-dir",
    type=Path,
    help="keep the local state (models, endpoints, review loops) in this folder; default: a folder of its "
    "own for this run, deleted when it ends",
)


# --- progress ---------------------------------------------------------------------------------------------
class Steps:
    """One execution's progress: live on stderr (tqdm: the current step, polls and elapsed time; only on a
    terminal), and the trail of distinct steps for the summary line on stdout."""

    def __init__(self, title: str, *, file: Any = None, disable: bool | None = None) -> None:
        self.trail: list[str] = []
        self.polls = 0
        self.bar = tqdm(
            desc=title,
            file=file or sys.stderr,
            disable=disable,  # None: only when the stream is a terminal
            leave=False,
            bar_format="{desc}: {postfix} [{elapsed}]",
            dynamic_ncols=True,
        )

    def __call__(self, function: str, _: Any = None) -> None:
        label = STEP_LABELS.get(function, function)
        if function == "PrepareTrainingDataFunction" and self.trail:
            label = "look for more uploads"  # the state machine's next round (NextRound → UploadsLeft)
        if not self.trail or self.trail[-1] != label:
            self.trail.append(label)
        if function in POLLS:
            self.polls += 1
            label = f"{label} (status poll {self.polls})"
        self.bar.set_postfix_str(label)

    def close(self) -> None:
        self.bar.close()

    def line(self) -> str:
        return " → ".join(self.trail) if self.trail else "(no function called)"


def bar(iterable: Any, title: str, *, total: int | None = None, unit: str = "it") -> Any:
    """A progress bar over ``iterable`` on stderr (shown only on a terminal)."""
    return tqdm(iterable, desc=title, total=total, unit=unit, file=sys.stderr, disable=None, leave=False)


# --- the operator's inbox ----------------------------------------------------------------------------------
@dataclass
class Notice:
    subject: str
    message: dict[str, Any]

    @property
    def outcome(self) -> str:
        return str(self.message.get("outcome", "info"))


class Inbox:
    """The stack's notification topic, read as an operator reads the e-mails: an SQS queue subscribed to it
    (in moto), drained after each execution. Every outcome the workflow has (promoted, rejected, failed,
    quarantined, waiting for data) is published there with its reason."""

    def __init__(self, topic_arn: str) -> None:
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.url = self.sqs.create_queue(QueueName=f"cli-inbox-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]
        boto3.client("sns", region_name="us-east-1").subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=arn["QueueArn"]
        )

    def drain(self) -> list[Notice]:
        notices: list[Notice] = []
        while True:
            received = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10)
            messages = received.get("Messages", [])
            if not messages:
                return notices
            for message in messages:
                envelope = json.loads(message["Body"])
                try:
                    body = json.loads(envelope.get("Message", "{}"))
                except json.JSONDecodeError:
                    body = {"text": envelope.get("Message")}
                notices.append(Notice(str(envelope.get("Subject", "")), body))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])


# --- the session --------------------------------------------------------------------------------------------
@dataclass
class Session:
    env: Any  # local.stack.Offline
    folder: Path
    kept: bool
    inbox: Inbox
    _progress: list[Callable[[str, Any], None]] = field(default_factory=list)

    @contextmanager
    def steps(self, title: str) -> Iterator[Steps]:
        steps = Steps(title)
        self._progress.append(steps)
        try:
            yield steps
        finally:
            self._progress.remove(steps)
            steps.close()

    def _on_invoke(self, function: str, payload: Any) -> None:
        for progress in self._progress:
            progress(function, payload)


@contextmanager
def session(
    state_dir: Path | None,
    parameters: dict[str, str] | None = None,
    *,
    review: bool = False,
    command: str = "",
    comprehend_port: int = 0,
) -> Iterator[Session]:
    """Start the offline stack for one command; stop it and delete its state (unless kept) at the end."""
    from local.stack import running

    kept = state_dir is not None
    folder = (
        Path(state_dir) if state_dir else home() / "runs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    )
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / "run.json"
    marker.write_text(
        json.dumps({"pid": os.getpid(), "command": command, "started": time.time(), "kept": kept})
    )
    try:
        with running(
            folder / "comprehend", parameters, review=review, comprehend_port=comprehend_port
        ) as env:
            if kept:
                _drop_stale_endpoints(env)
            current = Session(env, folder, kept, Inbox(env.stack.outputs["NotificationTopicArn"]))
            env.router.before_invoke.append(current._on_invoke)
            yield current
            snapshot(env, [folder, home()] if kept else [home()])
    finally:
        marker.unlink(missing_ok=True)
        if not kept:
            shutil.rmtree(folder, ignore_errors=True)


def _drop_stale_endpoints(env: Any) -> None:
    """A kept state dir holds the endpoints of earlier runs; moto starts empty, so no pointer names them."""
    client = boto3.client("comprehend", region_name="us-east-1", endpoint_url=env.comprehend.url)
    stale = [e["EndpointArn"] for e in client.list_endpoints().get("EndpointPropertiesList", [])]
    for arn in stale:
        client.delete_endpoint(EndpointArn=arn)
    if stale:
        say(f"Kept state: deleted {len(stale)} endpoint(s) an earlier run left (no pointer names them).")


# --- what a run leaves: the registry snapshot ------------------------------------------------------------
def registry_items(env: Any) -> dict[str, Any]:
    from comprehend_al.models import ModelKind
    from comprehend_al.store.registry import Registry

    reg = Registry(env.stack.outputs["RegistryTableName"])
    out: dict[str, Any] = {"models": [], "datasets": {}}
    for kind in ModelKind:
        out["models"] += [m.model_dump(mode="json") for m in reg.models(kind)]
        out["datasets"].update({d.version: d.dataset.model_dump(mode="json") for d in reg.datasets(kind)})
    return out


def ssm_values(env: Any) -> dict[str, str | None]:
    from comprehend_al.models import ModelKind
    from comprehend_al.pointers import Pointers

    names = ["selection-metric", "min-improvement"] + [Pointers.key(kind) for kind in ModelKind]
    return {f"{env.stack.parameter_prefix}/{n}": env.stack.parameter(n) for n in names}


def snapshot(env: Any, folders: list[Path]) -> None:
    data = json.dumps({**registry_items(env), "ssm": ssm_values(env), "written_at": time.time()}, indent=2)
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "registry.json").write_text(data)
