"""The README's offline sections run as written: every command of their fenced blocks, from the repository
root, in a user's shell (no PYTHONPATH). Long blocks run under `make test-slow`; a short checked list says
why the rest is not run from inside the suite."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("Quick start", "Run offline", "Invoke one function", "Test", "Lint and build")
# Commands not run from here, each with its reason (the test fails when one is no longer in the README).
NOT_RUN = {
    "make test": "the suite itself (CI runs it: .ci/run)",
    "make test-slow": "the suite itself (CI runs it: .ci/run)",
    "make lint": "CI runs it right after `make test` (.ci/run)",
    "make build": "downloads the layer's aarch64 wheels from PyPI: needs the network",
    "make bench ": "needs the data sets of ../shared/data, kept out of the repository; minutes each",
    "make bench-al ": "needs the data sets of ../shared/data, kept out of the repository; minutes each",
}
# Commands that take a minute or more: their blocks run under `make test-slow`.
SLOW = (
    "make demo",
    ".venv/bin/comprehend-al demo",
    ".venv/bin/comprehend-al run",
    ".venv/bin/comprehend-al loop",
    ".venv/bin/python -m pytest",
    "make bench-scale",  # builds datasets of 100k and 1M rows: about two minutes
    "make invoke",  # three offline stacks in a row (~30 s); tests/integration/test_invoke.py covers it fast
)
FILES_WRITTEN = ("tickets.csv",)  # by the README's commands, in the repository root


def sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def commands(block: str) -> list[str]:
    """The block's commands: continuation lines joined, comments and blank lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", block)
    out = []
    for line in joined.splitlines():
        command = re.sub(r"(^|\s)#.*$", "", line).strip()
        if command:
            out.append(command)
    return out


def blocks() -> list[tuple[str, list[str]]]:
    found = []
    for title, body in sections((ROOT / "README.md").read_text()).items():
        if title in SECTIONS:
            for number, block in enumerate(
                re.findall(r"^```\n(.*?)^```", body, flags=re.MULTILINE | re.DOTALL)
            ):
                found.append((f"{title} #{number + 1}", commands(block)))
    return found


def reason_not_run(command: str) -> str | None:
    return next((why for prefix, why in NOT_RUN.items() if (command + " ").startswith(prefix)), None)


BLOCKS = blocks()


def test_the_offline_sections_have_commands_and_the_checked_list_is_current() -> None:
    """Given the README, then each offline section has a command block, and every entry of the list of
    commands not run still names a command of the README."""
    titles = {name.rsplit(" #", 1)[0] for name, _ in BLOCKS}
    assert titles == set(SECTIONS)
    every = [command + " " for _, block in BLOCKS for command in block]
    for prefix in NOT_RUN:
        assert any(command.startswith(prefix) for command in every), f"stale entry: {prefix!r}"


def _params() -> list[object]:
    params: list[object] = []
    for name, block in BLOCKS:
        runnable = [c for c in block if reason_not_run(c) is None]
        if not runnable:
            continue
        slow = any(c.startswith(SLOW) for c in runnable)
        params.append(pytest.param(runnable, id=name, marks=[pytest.mark.slow] if slow else []))
    return params


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize("block", _params())
def test_a_readme_block_runs_as_written(block: list[str], tmp_path: Path) -> None:
    """Given a block of the README's offline sections, when its commands run one after the other in bash
    from the repository root (no PYTHONPATH; the state in a folder of this test), then each exits 0."""
    for port in {int(p) for c in block for p in re.findall(r"--port (\d+)", c)}:
        if not _port_free(port):
            pytest.skip(f"port {port} of the README's example is taken on this machine")
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    env.update({"COMPREHEND_AL_HOME": str(tmp_path / "home"), "OFFLINE": "1"})  # OFFLINE: as if no Docker
    awscli = ROOT / ".venv-awscli" / "bin"
    if any(c.startswith("aws ") for c in block) and not shutil.which("aws"):
        if not (awscli / "aws").exists():
            pytest.skip("no AWS CLI (`make test` installs one in .venv-awscli)")
        env["PATH"] = f"{awscli}{os.pathsep}{env['PATH']}"
    written = [ROOT / name for name in FILES_WRITTEN if not (ROOT / name).exists()]
    try:
        for command in block:
            done = subprocess.run(
                ["bash", "-o", "pipefail", "-c", command],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
            assert done.returncode == 0, (
                f"{command}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
            )
    finally:
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "comprehend-al"), "clean"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        for path in written:
            path.unlink(missing_ok=True)
