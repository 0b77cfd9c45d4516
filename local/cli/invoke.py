"""``invoke``: one function with a sample event, in-process on the offline stack (see :mod:`local.invoke`)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from local.cli.base import PROG, ROOT, Arg, ExitCode, UsageError, command, say


@command(
    "invoke",
    "run one function's handler with a sample event, in-process on the offline stack (no Docker)",
    Arg(
        "function",
        nargs="?",
        help="logical id (GetModelStatusFunction), step name or folder (get_model_status)",
    ),
    Arg("--event", "-e", type=Path, help="event file (default: the first of events/<function folder>/)"),
    Arg(
        "--no-seed",
        action="store_true",
        help="do not create what the event names (bucket, models, endpoints)",
    ),
    Arg("--log-level", help="the function's log level (default: its POWERTOOLS_LOG_LEVEL from the template)"),
    Arg("--list", action="store_true", help="list the functions and their sample events"),
    order=60,
)
def invoke(args: argparse.Namespace) -> int:
    """What `sam local invoke FUNCTION -e EVENT` does, without Docker or an AWS account: the template is
    deployed into moto, the local Comprehend service started, and the function's real handler runs in this
    process with the function's environment from the template. The structured logs go to stderr, the
    response to stdout. Before the invoke, what the event names is created offline under its own name (see
    local/invoke.py; --no-seed to skip). Exits 0 when the handler returned, 1 when it raised (its error
    payload printed as Lambda's: the error name is what Step Functions would match)."""
    from local.invoke import every_sample_event, offline, resolve, sample_events

    if args.list:
        for name, sample in every_sample_event():
            say(f"{name:32} {sample.relative_to(ROOT)}")
        return ExitCode.OK
    if not args.function:
        raise UsageError(f"name a function (`{PROG} invoke --list` shows them)")
    try:
        function = resolve(args.function)
    except LookupError as error:
        raise UsageError(str(error)) from error
    event: Path | None = args.event or next(iter(sample_events(function)), None)
    if event is None or not event.is_file():
        raise UsageError(f"no event file {event or ''}: pass --event PATH.json")
    say(
        f"Invoking {function} with {event}: in-process on the offline stack (moto + local Comprehend)",
        err=True,
    )
    with (
        tempfile.TemporaryDirectory(prefix="comprehend-al-invoke-") as scratch,
        offline(Path(scratch)) as invoker,
    ):
        function, payload, seeded = invoker.prepare(function, event, seed=not args.no_seed)
        for line in seeded:
            say(f"seeded: {line}", err=True)
        say(f"START {function} (in-process, offline stack)", err=True)
        result = invoker.call(function, payload, echo_logs=sys.stderr, log_level=args.log_level or "")
        say(f"END {function}  Duration: {result.seconds * 1000:.0f} ms", err=True)
    say(json.dumps(result.response, indent=2, default=str))
    return ExitCode.FAILED if result.error else ExitCode.OK
