"""``serve`` (the stack until Ctrl-C) and the commands that talk to it: ``classify``, ``feedback``."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from local import datagen
from local.cli.base import PROG, ROOT, Arg, ExitCode, OneOf, command, say
from local.cli.rounds import run_round
from local.cli.session import STATE_DIR, serve_file, session, snapshot
from local.control import start as start_control
from local.dashboard import DashboardServer


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@command(
    "serve",
    "run the stack until Ctrl-C: local Comprehend, HTTP API, review page (trains a first classifier)",
    STATE_DIR,
    Arg("--empty", action="store_true", help="do not train a first classifier"),
    Arg("--port", type=int, default=0, help="port of the local Comprehend service (default: any free one)"),
    Arg("--detach", action="store_true", help="run in the background; return once it serves (stop: clean)"),
    order=30,
)
def serve(args: argparse.Namespace) -> int:
    """Keep the offline stack up until Ctrl-C (or `comprehend-al clean`): the local Comprehend service (any
    SDK or the AWS CLI reaches it with --endpoint-url), the HTTP API (/classify, /feedback, /analyze) for
    `comprehend-al classify` and `feedback`, and the human review page of the local A2I runtime. Unless
    --empty, it first trains a classifier, so that exactly one endpoint serves. With --detach it runs in the
    background (its output in <state>/serve.log) and this command returns once it serves."""
    if args.detach:
        return detach(args)
    from comprehend_al.models import ModelKind

    from local.apigw import LocalHttpApi

    with session(args.state_dir, review=True, command="serve", comprehend_port=args.port) as s:
        env = s.env
        api = LocalHttpApi(env.stack.template, env.router)
        api_url = api.start()
        say(f"Local Comprehend endpoint: {env.comprehend.url}")
        say(f"Human review page (local A2I runtime): {env.a2i.url}/review")
        say(f"Annotation tool (entities, adjudication; docs/annotation.md): {env.a2i.url}/annotate")
        say(f"HTTP API (POST {', '.join(sorted(p.split()[1] for p in api.routes))}): {api_url}")
        say(f"Dashboard (the monitor runs on each load): {DashboardServer(env).start()}/dashboard/")
        control, control_address = start_control(env.stack)  # batches / readmit / drop / rollback
        if not args.empty:  # a first model, so that there is an endpoint to call
            env.stack.put("test/classifier/test.csv", datagen.to_csv(datagen.generate(200, seed=99)))
            run_round(
                s, "Training a first classifier", "train/new/seed.csv", datagen.to_csv(datagen.generate(300))
            )
        info = {
            "pid": os.getpid(),
            "api_url": api_url,
            "control_url": control_address,
            "comprehend_url": env.comprehend.url,
            "a2i_url": env.a2i.url,
            "state_dir": str(s.folder),
            "bucket": env.stack.bucket,
            "state_machine_arn": env.stack.state_machine_arn,
        }
        snapshot(env, [s.folder, serve_file().parent] if s.kept else [serve_file().parent])
        files = [serve_file(args.state_dir), serve_file()] if args.state_dir else [serve_file()]
        for file in files:
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(json.dumps(info, indent=2))
        say(f"  {PROG} classify --text 'my parcel never arrived'   (then: {PROG} feedback --label ...)")
        endpoint = env.stack.active(ModelKind.CLASSIFIER).endpoint_arn
        if endpoint:
            say(
                f"  aws comprehend classify-document --endpoint-url {env.comprehend.url} \\\n"
                "      --region us-east-1 --no-sign-request \\"
            )
            say(f'      --endpoint-arn {endpoint} --text "my parcel never arrived"')
        say(
            f"  aws comprehend list-endpoints --endpoint-url {env.comprehend.url} --region us-east-1 "
            "--no-sign-request"
        )
        say(
            f"Data bucket (in-process moto): {env.stack.bucket}; state machine: {env.stack.state_machine_arn}"
        )
        say("Serving until Ctrl-C.")
        try:
            while True:
                time.sleep(2)
                snapshot(env, [s.folder, serve_file().parent] if s.kept else [serve_file().parent])
        except KeyboardInterrupt:
            control.stop()
            say("\nstopped")
        finally:
            api.stop()
            for file in files:
                if file.exists() and json.loads(file.read_text()).get("pid") == os.getpid():
                    file.unlink()
    return ExitCode.OK


def detach(args: argparse.Namespace, timeout: float = 300) -> int:
    """Start `serve` (without --detach) in a new session in the background; wait until it serves."""
    info_file = serve_file(args.state_dir)
    if info_file.exists() and alive(int(json.loads(info_file.read_text()).get("pid", 0))):
        say(f"a `serve` is already running ({info_file}): `{PROG} clean` stops it")
        return ExitCode.FAILED
    argv = [sys.executable, "-m", "local.cli", "serve", "--port", str(args.port)]
    argv += ["--state-dir", str(args.state_dir)] if args.state_dir else []
    argv += ["--empty"] if args.empty else []
    log = (args.state_dir or info_file.parent) / "serve.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        child = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=ROOT,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            say(f"`serve` ended with status {child.returncode} before it served; its output ({log}):")
            say(log.read_text()[-3000:])
            return ExitCode.FAILED
        if info_file.exists() and json.loads(info_file.read_text()).get("pid") == child.pid:
            break
        time.sleep(0.5)
    else:
        say(f"`serve` (pid {child.pid}) did not serve within {timeout:.0f} s; its output: {log}")
        return ExitCode.FAILED
    say(log.read_text().rstrip().removesuffix("Serving until Ctrl-C.").rstrip())
    say(f"Serving in the background (pid {child.pid}, output: {log}); `{PROG} clean` stops it.")
    return ExitCode.OK


API = Arg("--api", help="HTTP API URL (default: the one the running `serve` wrote)")
SERVE_STATE = Arg("--state-dir", type=Path, help="the --state-dir the `serve` to talk to was started with")


class NotRunning(Exception):
    pass


def api_url(args: argparse.Namespace) -> str:
    if args.api:
        return str(args.api)
    path = serve_file(args.state_dir)
    if not path.exists():
        raise NotRunning(
            f"no running stack ({path} not found): start `{PROG} serve` first, or pass --api URL"
        )
    info = json.loads(path.read_text())
    if not alive(int(info.get("pid", 0))):
        raise NotRunning(
            f"the `serve` that wrote {path} (pid {info.get('pid')}) is gone: start `{PROG} serve`"
        )
    return str(info["api_url"])


def control_url(args: argparse.Namespace) -> str:
    """The control URL of the running ``serve`` (batches, readmit, drop, rollback)."""
    if getattr(args, "control", None):
        return str(args.control)
    path = serve_file(args.state_dir)
    if not path.exists():
        raise NotRunning(f"no running stack ({path} not found): start `{PROG} serve` first")
    return str(json.loads(path.read_text())["control_url"])


def post(url: str, body: dict[str, Any]) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    except urllib.error.URLError as error:
        say(f"{url}: {error.reason}: is `{PROG} serve` still running?")
        return ExitCode.NOT_RUNNING
    say(f"HTTP {status}")
    say(json.dumps(json.loads(payload or b"{}"), indent=2))
    return ExitCode.OK if status < 400 else ExitCode.FAILED


def _send(args: argparse.Namespace, route: str, body: dict[str, Any]) -> int:
    try:
        url = api_url(args)
    except NotRunning as error:
        say(str(error))
        return ExitCode.NOT_RUNNING
    return post(f"{url}/{route}", body)


@command(
    "classify",
    "POST /classify to the running `serve`",
    Arg("--text", required=True),
    API,
    SERVE_STATE,
    order=31,
)
def classify(args: argparse.Namespace) -> int:
    """POST /classify on the HTTP API of a running `comprehend-al serve`: the prediction, its scores, its
    prediction id (for feedback) and whether it went to human review. Exits 1 on an HTTP error answer, 4 when
    no `serve` runs."""
    return _send(args, "classify", {"text": args.text})


@command(
    "feedback",
    "POST /feedback (a corrected label) to the running `serve`",
    OneOf((Arg("--prediction-id"), Arg("--text")), required=True),
    Arg("--label", required=True),
    API,
    SERVE_STATE,
    order=32,
)
def feedback(args: argparse.Namespace) -> int:
    """POST /feedback: the user's corrected label for a prediction id (from `classify`) or for a text. Exits
    1 on an HTTP error answer (e.g. a label the model does not know), 4 when no `serve` runs."""
    body: dict[str, Any] = {"label": args.label}
    body.update({"prediction_id": args.prediction_id} if args.prediction_id else {"text": args.text})
    return _send(args, "feedback", body)
