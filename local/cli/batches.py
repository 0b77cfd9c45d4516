"""``batches``, ``readmit``, ``drop``, ``rollback``: batches and versions of a running ``serve``.

Each change is an execution of the lifecycle state machine with ``{"batch": …}`` or ``{"rollback": …}``,
the same input ``aws stepfunctions start-execution`` (and ``make rollback``) gives it on AWS; the running
``serve`` starts it through its control server (``local/control.py``) and answers when it has ended.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import urllib.request
from typing import Any

from local.cli.base import Arg, ExitCode, command, say
from local.cli.serve import SERVE_STATE, NotRunning, control_url

KIND = Arg("--kind", default="classifier", choices=["classifier", "entity_recognizer"])
CONTROL = Arg("--control", help="control URL of a running `serve` (default: the one it wrote)")
BY = Arg("--by", default=os.environ.get("USER", "unknown"), help="who (recorded in the registry)")
REASON = Arg("--reason", default="", help="why (recorded in the registry)")


def _call(args: argparse.Namespace, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        control_url(args) + path, data=data, headers={"Content-Type": "application/json"}, method=method
    )
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read() or b"null")


def _execution(args: argparse.Namespace, payload: dict[str, Any]) -> int:
    from local.control import describe

    started = time.monotonic()
    try:
        result = _call(args, "POST", "/executions", {"input": payload})
    except NotRunning as error:
        say(str(error))
        return ExitCode.NOT_RUNNING
    say(f"{describe(result)} in {time.monotonic() - started:.1f} s")
    return ExitCode.OK if result.get("status") == "SUCCEEDED" else ExitCode.FAILED


@command("batches", "the batches of a kind on a running `serve`", KIND, CONTROL, SERVE_STATE, order=35)
def batches(args: argparse.Namespace) -> int:
    """Every batch (upload, feedback or review flush) of the kind: status (pending, merged, accepted, held,
    dropped, quarantined), origin, rows, source, and why it is held or dropped."""
    try:
        found = _call(args, "GET", f"/batches/{args.kind}")
    except NotRunning as error:
        say(str(error))
        return ExitCode.NOT_RUNNING
    say(f"{'batch':<17} {'status':<11} {'origin':<8} {'rows':>5}  source / reason")
    for b in found:
        say(f"{b['batch_id']:<17} {b['status']:<11} {b['origin']:<8} {b['rows']:>5}  {b['source']}")
        if b.get("reason") and b["status"] in {"held", "dropped", "quarantined"}:
            say(f"{'':<44}{b['reason'][:160]}")
    return ExitCode.OK


def _change(action: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        request = {
            "kind": args.kind,
            "batch_id": args.batch,
            "action": action,
            "by": args.by,
            "reason": args.reason,
        }
        return _execution(args, {"batch": request})

    return run


readmit = command(
    "readmit",
    "return a held batch to training (it trains at once)",
    Arg("batch", help="the batch id (see `batches`)"),
    KIND,
    BY,
    REASON,
    CONTROL,
    SERVE_STATE,
    order=36,
)(_change("readmit"))
drop = command(
    "drop",
    "drop a batch: a new dataset version without its rows (versions stay immutable)",
    Arg("batch", help="the batch id (see `batches`)"),
    KIND,
    BY,
    REASON,
    CONTROL,
    SERVE_STATE,
    order=37,
)(_change("drop"))


@command(
    "rollback",
    "bring an earlier model version back into service (pointer, registry and endpoints consistent)",
    Arg("--version", required=True),
    Arg("--hold-batches-after", action="store_true", help="hold the batches it was not trained on"),
    KIND,
    BY,
    REASON,
    CONTROL,
    SERVE_STATE,
    order=38,
)
def rollback(args: argparse.Namespace) -> int:
    """One-command rollback: an execution with ``{"rollback": …}`` (``make rollback`` on AWS)."""
    request = {
        "kind": args.kind,
        "version": args.version,
        "by": args.by,
        "reason": args.reason,
        "hold_batches_after": args.hold_batches_after,
    }
    return _execution(args, {"rollback": request})
