"""``clean``: stop what earlier runs left running and delete the local state they left."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from local.cli.base import ROOT, Arg, ExitCode, command, say
from local.cli.session import home

OURS = ("comprehend-al", "local.cli", "local/cli")  # command lines `clean` may stop
MARKERS = ("run.json", "serve.json", "registry.json", "comprehend", "a2i")  # what a state folder holds


def command_line(pid: int) -> str | None:
    """The command line of a live process, or None when there is none."""
    proc = Path(f"/proc/{pid}/cmdline")
    if proc.parent.exists():
        try:
            return proc.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return None
    found = subprocess.run(
        ["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, check=False
    )
    return found.stdout.strip() or None


def stop(pid: int, seconds: float = 15.0) -> bool:
    """SIGTERM (the CLI then stops its services and removes its state), SIGKILL after ``seconds``."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if command_line(pid) is None:
            return True
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    return False


def recorded_pids(folders: list[Path]) -> dict[int, Path]:
    found: dict[int, Path] = {}
    for folder in folders:
        for path in [folder / "serve.json", *folder.glob("run.json"), *folder.glob("runs/*/run.json")]:
            try:
                found[int(json.loads(path.read_text())["pid"])] = path
            except (OSError, ValueError, KeyError, TypeError):
                continue
    return found


@command(
    "clean",
    "stop what earlier runs left running (a serve) and delete their local state",
    Arg("--state-dir", type=Path, help="also stop and delete what a run with this --state-dir kept"),
    Arg("--reports", action="store_true", help="also delete the reports (reports/)"),
    order=90,
)
def clean(args: argparse.Namespace) -> int:
    """Stops the `serve` (and any other run) whose process an earlier command recorded, then deletes the local
    state they left: per-run folders, the last registry snapshot, a kept --state-dir. Endpoints only live in
    that state, so afterwards none serves. Exits 1 when a folder given is not one the CLI made."""
    folders = [home()] + ([args.state_dir] if args.state_dir else [])
    if args.state_dir and args.state_dir.exists() and not any((args.state_dir / m).exists() for m in MARKERS):
        say(f"{args.state_dir} is not a state folder of this CLI (no {', '.join(MARKERS)}): left alone")
        return ExitCode.FAILED
    for pid, record in recorded_pids(folders).items():
        line = command_line(pid)
        if pid == os.getpid() or line is None:
            continue
        if not any(mark in line for mark in OURS):
            say(f"pid {pid} (from {record}) is not a {', '.join(OURS[:2])} process: left alone")
            continue
        say(f"stopping pid {pid} ({record.name}: {line.strip()[:80]})", end="")
        say(" — stopped" if stop(pid) else " — killed")
    removed = []
    for folder in folders:
        if folder.exists():
            shutil.rmtree(folder)
            removed.append(str(folder))
    if args.reports and (ROOT / "reports").exists():
        shutil.rmtree(ROOT / "reports")
        removed.append(str(ROOT / "reports"))
    say(f"deleted {', '.join(removed)}" if removed else "nothing to delete")
    return ExitCode.OK
