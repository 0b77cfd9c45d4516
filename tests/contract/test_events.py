"""Contract: the sample events in events/ against the state machine's payloads and the handlers' models.

The samples are what ``sam local invoke -e`` and the integration tests feed the handlers, so they must be
exactly what the state machine sends: the keys of each Task's ``Payload``, with each part shaped by the
``ResultSelector`` that produced it, and parsing into the pydantic models the handler validates.
"""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.contract.conftest import (
    ASL,
    EVENTS,
    FUNCTIONS,
    all_states,
    function_dirs,
    function_of,
    scopes,
    snake,
)

S3_EVENT = EVENTS / "s3_object_created.json"


def workflow_dirs() -> set[str]:
    """Function folders the state machine invokes (the others serve the HTTP API or EventBridge rules)."""
    definition = json.loads(ASL.read_text())
    return {snake(function_of(s) or "") for _, s in all_states(definition) if s["Type"] == "Task"}


FUNCTION_EVENTS = sorted(p for p in EVENTS.glob("*/*.json") if p.parent.name in workflow_dirs())
API_EVENTS = sorted(p for p in EVENTS.glob("*/*.json") if p.parent.name not in workflow_dirs())


def load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def event_id(path: Path) -> str:
    return str(path.relative_to(EVENTS))


def asl() -> dict[str, Any]:
    return dict(json.loads(ASL.read_text()))


def tasks_of(function_dir: str) -> list[dict[str, Any]]:
    """The Task states that invoke the function in ``functions/<function_dir>`` (HandleFailure: two)."""
    found = [
        s for _, s in all_states(asl()) if s["Type"] == "Task" and snake(function_of(s) or "") == function_dir
    ]
    assert found, f"no Task state invokes {function_dir}"
    return found


def selector_keys() -> dict[str, set[str]]:
    """``$.model`` → the keys the ResultSelectors of the Tasks writing ``$.model`` produce (or a Catch)."""
    keys: dict[str, set[str]] = {}
    for _, state in all_states(asl()):
        if state["Type"] == "Task" and state.get("ResultPath", "$") != "$":
            produced = {k.removesuffix(".$") for k in state["ResultSelector"]}
            keys.setdefault(state["ResultPath"], set()).update(produced)
        for catcher in state.get("Catch", []):
            keys.setdefault(catcher.get("ResultPath", "$"), set()).update({"Error", "Cause"})
    return keys


def handler_models(function_dir: str) -> dict[str, type[Any]]:
    """``{"run": Run, ...}``: the ``Model.model_validate(event["key"])`` calls of the handler."""
    tree = ast.parse((FUNCTIONS / function_dir / "app.py").read_text())
    imported = {
        alias.asname or alias.name: getattr(importlib.import_module(node.module), alias.name)
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("comprehend_al")
        for alias in node.names
    }
    models = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "model_validate"
            and isinstance(node.func.value, ast.Name)
            and node.args
            and isinstance(node.args[0], ast.Subscript)
            and isinstance(node.args[0].slice, ast.Constant)
        ):
            models[str(node.args[0].slice.value)] = imported[node.func.value.id]
    return models


def direct_models(function_dir: str) -> list[type[Any]]:
    """The models of the handler's ``Model.model_validate(event)`` calls (a function invoked directly)."""
    tree = ast.parse((FUNCTIONS / function_dir / "app.py").read_text())
    imported = {
        alias.asname or alias.name: getattr(importlib.import_module(node.module), alias.name)
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("comprehend_al")
        for alias in node.names
    }
    return [
        imported[node.func.value.id]
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "model_validate"
        and isinstance(node.func.value, ast.Name)
        and node.args
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id == "event"
    ]


# --- coverage --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("function_dir", function_dirs())
def test_every_function_has_a_sample_event(function_dir: str) -> None:
    """Given a function folder under functions/
    When events/<dir>/ is listed
    Then it holds at least one JSON sample event (for sam local invoke and the tests)."""
    assert sorted((EVENTS / function_dir).glob("*.json"))


# --- shape: what the state machine sends ------------------------------------------------------------------
@pytest.mark.parametrize("path", FUNCTION_EVENTS, ids=event_id)
def test_sample_event_has_the_payload_keys_the_state_machine_sends(path: Path) -> None:
    """Given a sample event of a function
    When its keys are compared with the Payload of the Task that invokes the function
    Then they are the same keys (the sample is exactly what the state machine sends)."""
    payloads = [
        {k.removesuffix(".$") for k in t["Parameters"]["Payload"]} for t in tasks_of(path.parent.name)
    ]
    assert set(load(path)) in payloads


@pytest.mark.parametrize("path", FUNCTION_EVENTS, ids=event_id)
def test_sample_event_parts_have_the_keys_their_result_selectors_produce(path: Path) -> None:
    """Given a sample event whose parts (model, test, endpoint, ...; or the whole run state) come from
    earlier steps
    When each part's keys are compared with the ResultSelector of the Task that wrote it
    Then they are the same keys (no field a real execution would not carry, none missing)."""
    event, produced = load(path), selector_keys()
    parts = event["state"] if set(event) == {"state"} else event
    wrong = {
        key: sorted(set(value) ^ produced[f"$.{key}"])
        for key, value in parts.items()
        if f"$.{key}" in produced and isinstance(value, dict) and set(value) != produced[f"$.{key}"]
    }
    assert wrong == {}


def test_run_state_samples_hold_only_keys_a_run_accumulates() -> None:
    """Given the FinishRun / HandleFailure samples (the whole state of one Map iteration)
    When their keys are compared with the Map's ItemSelector and the ResultPaths of its states
    Then every key is one the iteration's state can hold."""
    ((_, scope),) = [(p, s) for p, s in scopes(asl()) if p != "<top>"]
    map_state = next(s for _, s in all_states(asl()) if s["Type"] == "Map")
    possible = {k.removesuffix(".$") for k in map_state["ItemSelector"]} | {
        path.removeprefix("$.")
        for state in scope["States"].values()
        for path in [state.get("ResultPath"), *(c.get("ResultPath") for c in state.get("Catch", []))]
        if path and path != "$"
    }
    samples = [
        p
        for p in [*EVENTS.glob("finish_run/*.json"), *EVENTS.glob("handle_failure/*.json")]
        if "state" in load(p)
    ]
    assert samples
    assert {event_id(p): sorted(set(load(p)["state"]) - possible) for p in samples} == {
        event_id(p): [] for p in samples
    }


# --- models: what the handler parses ----------------------------------------------------------------------
MODEL_EVENTS = [p for p in FUNCTION_EVENTS if handler_models(p.parent.name)]


@pytest.mark.parametrize("path", MODEL_EVENTS, ids=event_id)
def test_sample_event_parses_into_the_handler_models(path: Path) -> None:
    """Given a sample event and the Model.model_validate(event[key]) calls of its handler
    When each part is validated with its model
    Then every part parses (a handler given this event gets past its first lines)."""
    event = load(path)
    models = {k: m for k, m in handler_models(path.parent.name).items() if k in event}
    assert models, f"{event_id(path)} holds none of {sorted(handler_models(path.parent.name))}"
    for key, model in models.items():
        model.model_validate(event[key])


def test_every_handler_but_prepare_parses_its_event_with_models() -> None:
    """Given the handlers
    When their model_validate calls are collected
    Then only PrepareTrainingData (it gets the raw S3 event) has none: the test above covers the rest."""
    workflow = [d for d in function_dirs() if d in workflow_dirs()]
    assert [d for d in workflow if not handler_models(d)] == ["prepare_training_data"]


@pytest.mark.parametrize("path", API_EVENTS, ids=event_id)
def test_api_sample_event_is_an_http_api_request_for_a_route_of_its_function(path: Path) -> None:
    """Given a sample event of a function the HTTP API (or an EventBridge rule) invokes
    When it is compared with the function's events in template.yaml
    Then an HTTP API v2 request matches one of the function's routes; any other event names its source (a
    function with no event source is invoked directly: its event parses into the handler's request model)."""
    from local.stack import load_template

    resources = load_template()["Resources"]
    [function] = [
        r
        for r in resources.values()
        if r.get("Properties", {}).get("CodeUri") == f"functions/{path.parent.name}/"
    ]
    events = function["Properties"].get("Events", {}).values()
    event = load(path)
    if not events:  # invoked directly (aws lambda invoke): the event is the request its handler validates
        [model] = direct_models(path.parent.name)
        model.model_validate(event)
    elif event.get("version") == "2.0":
        routes = {
            f"{e['Properties']['Method'].upper()} {e['Properties']['Path']}"
            for e in events
            if e["Type"] == "HttpApi"
        }
        assert event["routeKey"] in routes and event["requestContext"]["http"]["method"] in {"POST", "GET"}
    else:
        assert event.get("source") and event.get("detail-type"), (
            "not an HTTP API request nor an EventBridge event"
        )


@pytest.mark.parametrize("path", sorted(EVENTS.glob("prepare_training_data/*.json")), ids=event_id)
def test_prepare_event_carries_the_execution_a_round_and_an_upload_event_or_none(path: Path) -> None:
    """Given a PrepareTrainingData sample
    When its parts are checked the way the handler and lifecycle.prepare_training_data use them
    Then execution_id is an execution ARN, round an int, and event {} (a later round) or an S3 event that
    the lifecycle accepts for the bucket it names."""
    from comprehend_al.lifecycle.prepare import _check_event

    event = load(path)
    assert event["execution_id"].startswith("arn:aws:states:") and ":execution:" in event["execution_id"]
    assert isinstance(event["round"], int)
    bucket = (event["event"] or {}).get("detail", {}).get("bucket", {}).get("name", "")
    _check_event(event["event"], SimpleNamespace(data_bucket=bucket))  # type: ignore[arg-type]


def test_prepare_upload_sample_wraps_the_s3_sample_event() -> None:
    """Given the S3 sample event and the PrepareTrainingData sample of an upload
    When they are compared
    Then the prepare sample carries the S3 sample unchanged (Initialize passes the input as $.event)."""
    assert load(EVENTS / "prepare_training_data" / "s3_object_created.json")["event"] == load(S3_EVENT)


# --- the S3 event ----------------------------------------------------------------------------------------
def test_s3_sample_event_matches_the_eventbridge_rule(template: dict[str, Any]) -> None:
    """Given the state machine's EventBridge rule in template.yaml and the S3 sample event
    When the rule's pattern is applied (source, detail-type, key prefix)
    Then the sample matches it (it is an event that starts an execution)."""
    events = template["Resources"]["ModelLifecycleStateMachine"]["Properties"]["Events"]
    (rule,) = [e["Properties"]["Pattern"] for e in events.values() if e["Type"] == "EventBridgeRule"]
    event = load(S3_EVENT)
    (prefix,) = [p["prefix"] for p in rule["detail"]["object"]["key"]]
    assert event["source"] in rule["source"]
    assert event["detail-type"] in rule["detail-type"]
    assert event["detail"]["object"]["key"].startswith(prefix)


def _key_paths(value: Any, path: str = "") -> set[str]:
    if not isinstance(value, dict):
        return set()
    return {f"{path}.{k}" for k in value} | {
        p for k, v in value.items() for p in _key_paths(v, f"{path}.{k}")
    }


def test_s3_sample_event_has_every_field_the_offline_stack_delivers() -> None:
    """Given the event local/stack.py delivers for an upload (the shape EventBridge delivers on AWS)
    When its key paths are compared with the S3 sample event's
    Then the sample has every one of them."""
    from local.stack import OfflineStack

    offline = OfflineStack.object_created_event(
        SimpleNamespace(bucket="bucket"),  # type: ignore[arg-type]
        "train/new/upload.csv",
        10,
        {"ETag": '"0cc175b9c0f1b6a831c399e269772661"', "VersionId": "v1"},
    )
    assert _key_paths(offline) - _key_paths(load(S3_EVENT)) == set()
