"""The `comprehend-al` program: installed, documented, honest about what it did, and tidy with its state."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from local import cli, datagen
from local.cli.base import COMMANDS, ROOT, load_commands
from local.cli.rounds import Limits, explain
from local.cli.session import Notice, Steps, session

PROGRAM = ROOT / ".venv" / "bin" / "comprehend-al"
EXPECTED = {"demo", "loop", "run", "serve", "classify", "feedback", "registry", "invoke", "clean", "tickets"}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("COMPREHEND_AL_HOME", str(folder))
    return folder


def plain_env(home: Path) -> dict[str, str]:
    """The environment of a user's shell: no PYTHONPATH, this test's state home."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, "COMPREHEND_AL_HOME": str(home)}


def write_csv(path: Path, tickets: list[datagen.Ticket]) -> Path:
    path.write_bytes(datagen.to_csv(tickets))
    return path


# --- the program ---------------------------------------------------------------------------------------
@pytest.mark.skipif(not PROGRAM.exists(), reason="`make venv` installs comprehend-al into .venv")
def test_every_subcommand_has_help_from_the_installed_program_without_pythonpath(home: Path) -> None:
    """Given the program `make venv` installed, when `--help` is asked of it and of each subcommand from
    another folder with no PYTHONPATH, then each answers (exit 0) with its usage and the exit codes."""
    for name in ["", *sorted(load_commands())]:
        argv = [str(PROGRAM), *([name] if name else []), "--help"]
        done = subprocess.run(
            argv, cwd=home.parent, env=plain_env(home), capture_output=True, text=True, timeout=60
        )

        assert done.returncode == 0, (name, done.stderr)
        assert f"usage: comprehend-al {name}".rstrip() in done.stdout
        assert "3    no model" in done.stdout


def test_the_program_keeps_every_subcommand() -> None:
    """Given the command registry, then every subcommand users rely on is there."""
    assert set(load_commands()) >= EXPECTED


def test_a_subcommand_is_one_decorated_function(capsys: pytest.CaptureFixture[str]) -> None:
    """Given a function registered with @command, when the program runs it, then it parses its arguments
    and its return value is the exit status: nothing else to register."""

    @cli.command("hello-test", "say hello", cli.base.Arg("--name", default="world"))
    def hello(args: argparse.Namespace) -> int:
        cli.base.say(f"hello {args.name}")
        return 7

    try:
        assert cli.main(["hello-test", "--name", "you"]) == 7
        assert capsys.readouterr().out == "hello you\n"
    finally:
        COMMANDS.pop("hello-test")


# --- data that cannot produce a model ----------------------------------------------------------------
def test_demo_on_a_header_only_csv_exits_3_and_says_why(
    tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given a CSV holding only a header, when the demo runs on it, then it exits 3 before starting anything,
    saying the data is empty once its header line is skipped."""
    data = tmp_path / "header.csv"
    data.write_text("label,text\n")

    code = cli.main(["demo", "--data", str(data), "--report", str(tmp_path / "r")])

    out = capsys.readouterr().out
    assert code == cli.ExitCode.NO_MODEL
    # the header line is recognised and skipped (as the workflow does): nothing is left to train on
    assert "cannot produce a model" in out and "no records" in out
    assert not (tmp_path / "r").exists() and not (home / "runs").exists()


def test_demo_on_a_too_small_csv_exits_3_and_names_what_each_label_needs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given 40 tickets over 5 labels, when the demo runs on them, then it exits 3 and says which labels need
    how many more documents."""
    data = write_csv(tmp_path / "small.csv", datagen.generate(40, seed=3))

    code = cli.main(["demo", "--data", str(data)])

    out = capsys.readouterr().out
    assert code == cli.ExitCode.NO_MODEL
    assert "to train, it needs: ACCOUNT +4, BILLING +4" in out and "18 more document(s) in all" in out


def test_demo_on_an_empty_file_exits_3_and_a_missing_one_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given an empty file, then the demo exits 3 (the workflow would quarantine it); given no file, 2."""
    (tmp_path / "empty.csv").write_bytes(b"")

    assert cli.main(["demo", "--data", str(tmp_path / "empty.csv")]) == cli.ExitCode.NO_MODEL
    assert "the workflow would quarantine it" in capsys.readouterr().out
    assert cli.main(["demo", "--data", str(tmp_path / "missing.csv")]) == cli.ExitCode.USAGE


def test_a_run_whose_merged_data_is_too_small_says_it_waits_for_data_and_exits_3(
    tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given rows that are enough only before duplicates are dropped (9 texts per label, 3 copies each), when
    `run` uploads them, then the workflow merges and waits: the round says so, with what each label needs,
    no classifier is trained, and the exit status is 3."""
    unique = datagen.generate(45, seed=4)  # 9 per label
    data = write_csv(tmp_path / "dup.csv", unique * 3)

    code = cli.main(["run", "--train", str(data), "--rounds", "1"])

    out = capsys.readouterr().out
    assert code == cli.ExitCode.NO_MODEL
    assert "NOT trained: waiting for data" in out and "9 of 10 documents" in out
    assert "to train, it needs:" in out and "No classifier was trained from" in out
    assert list((home / "runs").iterdir()) == []  # per-run state: gone


class _NoSession:
    """explain() only reaches the session for a classifier's dataset counts."""


def test_quarantine_and_missing_test_set_are_explained() -> None:
    """Given the notifications of a quarantined upload and of data waiting for a test set, then the round's
    explanation names the report's S3 path and the missing test set."""
    notices = [
        Notice(
            "q",
            {
                "outcome": "quarantined",
                "kind": "classifier",
                "report": "s3://b/quarantine/x/report.json",
                "problems": ["a.csv: line 3: label: empty"],
            },
        ),
        Notice(
            "w",
            {
                "outcome": "waiting",
                "kind": "entity_recognizer",
                "dataset": "d1",
                "reasons": ["no fixed test set: upload it to s3://b/test/entities/ (see README)"],
            },
        ),
    ]

    lines = explain(_NoSession(), notices)  # type: ignore[arg-type]

    assert "upload quarantined, nothing trained; report: s3://b/quarantine/x/report.json" in lines[0]
    assert any("no fixed test set" in line for line in lines)
    assert "nothing trained" in explain(_NoSession(), [])[0]  # type: ignore[arg-type]


def test_progress_shows_the_running_step_and_its_polls_on_a_terminal() -> None:
    """Given a terminal, when the state machine calls training functions, then the progress line names the
    step and counts its status polls, and the trail keeps each step once."""
    terminal = io.StringIO()
    steps = Steps("Round 1", file=terminal, disable=False)

    for function in [
        "PrepareTrainingDataFunction",
        "StartModelBuildingFunction",
        "GetModelStatusFunction",
        "GetModelStatusFunction",
        "PrepareTrainingDataFunction",
    ]:
        steps(function)
    steps.close()

    assert "train (status poll 2)" in terminal.getvalue()
    assert steps.line() == "validate + merge → train → look for more uploads"
    assert Limits.offline() == Limits(10, 50)


# --- state: per run, kept on request, cleaned -----------------------------------------------------------
def _endpoints(url: str) -> list[str]:
    client = boto3.client("comprehend", region_name="us-east-1", endpoint_url=url)
    return [e["EndpointArn"] for e in client.list_endpoints()["EndpointPropertiesList"]]


def test_a_kept_state_dir_serves_no_endpoint_of_an_earlier_run(tmp_path: Path, home: Path) -> None:
    """Given a run that deployed an endpoint into a kept --state-dir, when the next run starts on that folder,
    then no endpoint is left (moto starts empty: no pointer names the old one)."""
    kept = tmp_path / "kept"
    with session(kept) as first:
        first.env.stack.put("test/classifier/test.csv", datagen.to_csv(datagen.generate(100, seed=99)))
        first.env.stack.upload("train/new/a.csv", datagen.to_csv(datagen.generate(100, seed=1)))
        assert len(_endpoints(first.env.comprehend.url)) == 1

    with session(kept) as second:
        assert _endpoints(second.env.comprehend.url) == []
    assert (kept / "registry.json").exists() and (home / "registry.json").exists()


@pytest.fixture
def serving(home: Path) -> Iterator[dict[str, object]]:
    started = subprocess.run(
        [sys.executable, "-m", "local.cli", "serve", "--detach"],
        cwd=ROOT,
        env=plain_env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert started.returncode == 0, started.stdout + started.stderr
    info = json.loads((home / "serve.json").read_text())
    try:
        yield info
    finally:
        subprocess.run(
            [sys.executable, "-m", "local.cli", "clean"], cwd=ROOT, env=plain_env(home), timeout=60
        )


def test_after_serve_list_endpoints_shows_exactly_the_active_endpoint_and_clean_stops_it(
    home: Path, serving: dict[str, object]
) -> None:
    """Given an earlier run that left nothing behind and a detached `serve`, when its endpoints are listed,
    then exactly the active classifier's endpoint serves; when `clean` runs, then the serve process ends
    and its state is gone."""
    active = json.loads(
        json.loads((home / "registry.json").read_text())["ssm"]["/comprehend-al/classifier/active"]
    )

    assert _endpoints(str(serving["comprehend_url"])) == [active["endpoint_arn"]]

    cleaned = subprocess.run(
        [sys.executable, "-m", "local.cli", "clean"],
        cwd=ROOT,
        env=plain_env(home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cleaned.returncode == 0 and "stopped" in cleaned.stdout
    deadline = time.monotonic() + 10
    while Path(f"/proc/{serving['pid']}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{serving['pid']}").exists() or sys.platform != "linux"
    assert not home.exists()


def test_clean_leaves_what_is_not_its_own_alone(tmp_path: Path, home: Path) -> None:
    """Given a recorded pid that is not a comprehend-al process and a folder that is not a state folder,
    when `clean` runs, then the process lives on and the foreign folder stays."""
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        home.mkdir(parents=True)
        (home / "serve.json").write_text(json.dumps({"pid": sleeper.pid}))
        foreign = tmp_path / "photos"
        (foreign / "2024").mkdir(parents=True)

        assert cli.main(["clean", "--state-dir", str(foreign)]) == cli.ExitCode.FAILED
        assert cli.main(["clean"]) == cli.ExitCode.OK

        assert sleeper.poll() is None and (foreign / "2024").exists() and not home.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
