"""Fixtures of the contract tests: the template, the state machine definition, and helpers to walk them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
ASL = ROOT / "statemachine" / "model_lifecycle.asl.json"
FUNCTIONS = ROOT / "functions"
EVENTS = ROOT / "events"
STATE_MACHINE = "ModelLifecycleStateMachine"
SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    from local.stack import load_template

    return load_template(TEMPLATE)


@pytest.fixture(scope="session")
def translated(template: dict[str, Any]) -> dict[str, Any]:
    """The template as CloudFormation sees it (SAM policy templates and roles expanded)."""
    from local.stack import translate

    return translate(template, {})


@pytest.fixture(scope="session")
def asl_text() -> str:
    return ASL.read_text()


@pytest.fixture(scope="session")
def asl(asl_text: str) -> dict[str, Any]:
    return dict(json.loads(asl_text))


def function_dirs() -> list[str]:
    return sorted(p.name for p in FUNCTIONS.iterdir() if p.is_dir() and not p.name.startswith("__"))


def functions_in(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}


def scopes(definition: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, {StartAt, States}) of the machine and of every Map / Parallel inside it."""
    yield path or "<top>", definition
    for name, state in definition["States"].items():
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from scopes(state[key], f"{path}/{name}")
        for i, branch in enumerate(state.get("Branches", [])):
            yield from scopes(branch, f"{path}/{name}[{i}]")


def all_states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for _, scope in scopes(definition):
        yield from scope["States"].items()


def transitions(state: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, target) of every transition out of a state (Next, Default, Choices, Catch)."""
    found = []
    if "Next" in state:
        found.append(("Next", state["Next"]))
    if "Default" in state:
        found.append(("Default", state["Default"]))
    for i, choice in enumerate(state.get("Choices", [])):
        found.append((f"Choices[{i}].Next", choice.get("Next")))
    for i, catcher in enumerate(state.get("Catch", [])):
        found.append((f"Catch[{i}].Next", catcher.get("Next")))
    return found


def function_of(task: dict[str, Any]) -> str | None:
    """``PrepareTrainingData`` for a Task whose FunctionName is ``${PrepareTrainingDataFunctionArn}``."""
    name = str(task.get("Parameters", {}).get("FunctionName", ""))
    match = re.fullmatch(r"\$\{([A-Za-z0-9]+)FunctionArn\}", name)
    return match.group(1) if match else None


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
