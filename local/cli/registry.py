"""``registry``: the model registry and SSM values the last run left."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from local.cli.base import PROG, Arg, ExitCode, command, say
from local.cli.session import last_registry


@command(
    "registry",
    "show the model registry of the last run (or of a kept --state-dir)",
    Arg("--state-dir", type=Path, help="the --state-dir of the run to show (default: the last run)"),
    order=40,
)
def registry(args: argparse.Namespace) -> int:
    """The model versions (dataset size, metrics on the fixed test set, decision, endpoint) and the SSM
    values of the last demo, run, loop or serve, from the snapshot it wrote when it ended (a running serve
    refreshes it every few seconds). Exits 1 when no run has written one."""
    from local.report import model_rows, table

    path = last_registry(args.state_dir)
    if not path.exists():
        say(f"no registry snapshot at {path}: run `{PROG} demo` first")
        return ExitCode.FAILED
    data = json.loads(path.read_text())
    say(table(model_rows(data["models"], data["datasets"])))
    for name, value in data["ssm"].items():
        say(f"{name} = {value}")
    return ExitCode.OK
