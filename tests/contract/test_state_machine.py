"""Contract: the state machine definition against itself, the template, the error classes and cfn-lint."""

from __future__ import annotations

import inspect
import json
from types import SimpleNamespace
from typing import Any

import pytest
from comprehend_al import errors, lifecycle
from comprehend_al.state import EndpointState, ModelState, Run
from comprehend_al.state import TestState as JobsState  # a "Test*" name would be collected by pytest

from tests.contract.asl_lint import lint_asl_file, lint_definition
from tests.contract.conftest import (
    ASL,
    EVENTS,
    STATE_MACHINE,
    SUBSTITUTION,
    all_states,
    function_of,
    scopes,
    transitions,
)

LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
BOUNDED_POLLERS = {"GetModelStatus", "GetJobStatus", "GetEndpointStatus"}
CATCH_TARGET = "HandleFailure"
NUMERIC_BOUNDS = (
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
)


def tasks(asl: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, state) for name, state in all_states(asl) if state["Type"] == "Task"]


def cycles(scope: dict[str, Any]) -> list[list[str]]:
    """Every elementary cycle of one scope's graph (a Map counts as one node of its parent's graph)."""
    states = scope["States"]
    order = {name: i for i, name in enumerate(states)}
    edges = {name: [t for _, t in transitions(state) if t in states] for name, state in states.items()}
    found: list[list[str]] = []

    def walk(start: str, node: str, path: list[str]) -> None:
        for target in edges[node]:
            if target == start:
                found.append(list(path))
            elif target not in path and order[target] > order[start]:
                walk(start, target, [*path, target])

    for start in states:
        walk(start, start, [start])
    return found


def walk_json(value: Any, path: str = "$") -> list[tuple[str, Any]]:
    """(path, key or string) of every key and string value in a JSON document."""
    found: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((path, key))
            found.extend(walk_json(item, f"{path}.{key}"))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(walk_json(item, f"{path}[{i}]"))
    elif isinstance(value, str):
        found.append((path, value))
    return found


# --- substitutions ---------------------------------------------------------------------------------------
def test_every_asl_substitution_has_a_definition_substitution(
    asl_text: str, template: dict[str, Any]
) -> None:
    """Given the ASL file and the template's DefinitionSubstitutions
    When every ${X} of the ASL is looked up
    Then each one has an entry (CloudFormation would leave it unreplaced)."""
    used = set(SUBSTITUTION.findall(asl_text))
    defined = set(template["Resources"][STATE_MACHINE]["Properties"]["DefinitionSubstitutions"])
    assert used - defined == set()


def test_every_definition_substitution_is_used_by_the_asl(asl_text: str, template: dict[str, Any]) -> None:
    """Given the template's DefinitionSubstitutions
    When each is looked for in the ASL file
    Then every one is used (a stale entry points at a step that no longer exists)."""
    used = set(SUBSTITUTION.findall(asl_text))
    defined = set(template["Resources"][STATE_MACHINE]["Properties"]["DefinitionSubstitutions"])
    assert defined - used == set()


def test_state_machine_may_invoke_every_function_it_calls(template: dict[str, Any]) -> None:
    """Given the ...FunctionArn substitutions (GetAtt <Function>.Arn)
    When they are compared with the state machine's LambdaInvokePolicy entries
    Then every function the machine calls has an invoke policy and every policy names a called function."""
    props = template["Resources"][STATE_MACHINE]["Properties"]
    called = {
        value["Fn::GetAtt"][0]
        for key, value in props["DefinitionSubstitutions"].items()
        if key.endswith("FunctionArn")
    }
    allowed = {
        policy["LambdaInvokePolicy"]["FunctionName"]["Ref"]
        for policy in props["Policies"]
        if isinstance(policy, dict) and "LambdaInvokePolicy" in policy
    }
    assert called == allowed


# --- the graph -------------------------------------------------------------------------------------------
def test_every_transition_names_a_state_of_its_scope(asl: dict[str, Any]) -> None:
    """Given every Next, Default, Choice and Catch target, at the top level and inside each Map
    When it is looked up among the states of its own scope
    Then it exists (neither Step Functions' linter nor cfn-lint catches a dangling Next)."""
    dangling = [
        f"{path}/{name}.{field} -> {target}"
        for path, scope in scopes(asl)
        for name, state in scope["States"].items()
        for field, target in transitions(state)
        if target not in scope["States"]
    ]
    assert dangling == []


def test_every_start_at_names_a_state_of_its_scope(asl: dict[str, Any]) -> None:
    """Given the machine and every Map ItemProcessor
    When StartAt is looked up in its States
    Then it exists."""
    missing = [
        f"{path}: {scope.get('StartAt')}"
        for path, scope in scopes(asl)
        if scope.get("StartAt") not in scope["States"]
    ]
    assert missing == []


def test_every_state_is_reachable_from_start_at(asl: dict[str, Any]) -> None:
    """Given each scope's graph of transitions
    When it is walked from StartAt
    Then every state is reached (an unreachable state is dead code or a wiring mistake)."""
    unreachable = []
    for path, scope in scopes(asl):
        seen, todo = set(), [scope["StartAt"]]
        while todo:
            name = todo.pop()
            if name in seen or name not in scope["States"]:
                continue
            seen.add(name)
            todo.extend(target for _, target in transitions(scope["States"][name]))
        unreachable += [f"{path}/{name}" for name in scope["States"] if name not in seen]
    assert unreachable == []


def test_every_choice_has_a_default(asl: dict[str, Any]) -> None:
    """Given every Choice state
    When its fields are read
    Then it has a Default (no States.NoChoiceMatched at run time)."""
    assert [name for name, s in all_states(asl) if s["Type"] == "Choice" and "Default" not in s] == []


def test_state_machine_has_a_timeout(asl: dict[str, Any]) -> None:
    """Given the machine's top level
    When TimeoutSeconds is read
    Then it is a positive integer (no execution runs for the service maximum of a year)."""
    assert isinstance(asl.get("TimeoutSeconds"), int) and asl["TimeoutSeconds"] > 0


# --- errors ----------------------------------------------------------------------------------------------
def error_names(asl: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (name, error)
        for name, state in all_states(asl)
        for handler in [*state.get("Retry", []), *state.get("Catch", [])]
        for error in handler["ErrorEquals"]
    ]


def test_every_error_name_is_a_states_lambda_or_workflow_error(asl: dict[str, Any]) -> None:
    """Given every ErrorEquals name of every Retry and Catch
    When it is compared with States.*, Lambda.* and the classes of comprehend_al.errors
    Then each is one of them, a WorkflowError subclass when it is ours (ASL matches names exactly)."""

    def known(error: str) -> bool:
        if error.startswith(("States.", "Lambda.")):
            return True
        cls = getattr(errors, error, None)
        return inspect.isclass(cls) and issubclass(cls, errors.WorkflowError)

    assert [f"{state}: {error}" for state, error in error_names(asl) if not known(error)] == []


# --- tasks -----------------------------------------------------------------------------------------------
def test_every_task_invokes_lambda_with_result_selector_and_result_path(asl: dict[str, Any]) -> None:
    """Given every Task state
    When its Resource, ResultSelector and ResultPath are read
    Then it is a lambda:invoke with both set (one Task style; the state accumulates)."""
    wrong = [
        name
        for name, state in tasks(asl)
        if state.get("Resource") != "arn:aws:states:::lambda:invoke"
        or "ResultSelector" not in state
        or "ResultPath" not in state
    ]
    assert wrong == []


def test_every_task_retries_the_lambda_service_errors(asl: dict[str, Any]) -> None:
    """Given every Task state
    When the error names of its Retry rules are collected
    Then they include the four Lambda service errors AWS recommends retrying."""
    missing = {
        name: sorted(LAMBDA_SERVICE_ERRORS - {e for r in state.get("Retry", []) for e in r["ErrorEquals"]})
        for name, state in tasks(asl)
    }
    assert {name: errs for name, errs in missing.items() if errs} == {}


def test_every_task_but_the_failure_handler_has_a_catch(asl: dict[str, Any]) -> None:
    """Given every Task state other than HandleFailure (the catch target itself)
    When its Catch is read
    Then it has one that catches States.ALL (every failure reaches a cleanup or Fail state)."""
    uncaught = [
        name
        for name, state in tasks(asl)
        if name != CATCH_TARGET and not any("States.ALL" in c["ErrorEquals"] for c in state.get("Catch", []))
    ]
    assert uncaught == []


def test_no_jsonata_assign_or_query_language(asl: dict[str, Any]) -> None:
    """Given every key and string of the definition
    When they are scanned for JSONata fields and expressions
    Then there are none (the offline interpreter runs JSONPath only)."""
    jsonata_keys = {"QueryLanguage", "Assign", "Arguments", "Output", "Condition", "Items"}
    found = [
        f"{path}: {item}"
        for path, item in walk_json(asl)
        if item in jsonata_keys or (isinstance(item, str) and item.strip().startswith("{%"))
    ]
    assert found == []


# --- waits and loops -------------------------------------------------------------------------------------
def test_every_wait_takes_its_duration_from_the_state(asl: dict[str, Any]) -> None:
    """Given every Wait state
    When its duration field is read
    Then it is SecondsPath (fed by ${PollSeconds}: minutes on AWS, 0 offline), never a hard-coded value."""
    wrong = [
        name
        for name, state in all_states(asl)
        if state["Type"] == "Wait"
        and ("SecondsPath" not in state or {"Seconds", "Timestamp", "TimestampPath"} & set(state))
    ]
    assert wrong == []


def test_every_poll_loop_is_bounded_by_a_polling_function(asl: dict[str, Any]) -> None:
    """Given every cycle of the graph that goes through a Wait state (a poll loop)
    When the Tasks on it are listed
    Then there is at least one and each is GetModelStatus, GetJobStatus or GetEndpointStatus
    (they raise PollTimedOut after MAX_POLL_ATTEMPTS)."""
    unbounded = []
    for path, scope in scopes(asl):
        states = scope["States"]
        for cycle in cycles(scope):
            if not any(states[n]["Type"] == "Wait" for n in cycle):
                continue
            pollers = {function_of(states[n]) for n in cycle if states[n]["Type"] == "Task"}
            if not pollers or not pollers <= BOUNDED_POLLERS:
                unbounded.append(f"{path}: {' -> '.join(cycle)}")
    assert unbounded == []


def test_every_other_loop_is_bounded_by_a_counter(asl: dict[str, Any]) -> None:
    """Given every cycle with no polling function on it (e.g. the next-round loop)
    When its states are read
    Then a Pass on it increments a counter with States.MathAdd and a Choice on it compares that
    counter with a number (so the loop ends)."""
    unbounded = []
    for path, scope in scopes(asl):
        states = scope["States"]
        for cycle in cycles(scope):
            on_cycle = [states[n] for n in cycle]
            if any(s["Type"] == "Task" and function_of(s) in BOUNDED_POLLERS for s in on_cycle):
                continue
            compared = {
                rule["Variable"]
                for s in on_cycle
                if s["Type"] == "Choice"
                for rule in s["Choices"]
                if any(op in rule for op in NUMERIC_BOUNDS)
            }
            incremented = {
                f"$.{key.removesuffix('.$')}"
                for s in on_cycle
                if s["Type"] == "Pass"
                for key, value in s.get("Parameters", {}).items()
                if isinstance(value, str) and value.startswith(f"States.MathAdd($.{key.removesuffix('.$')},")
            }
            if not compared & incremented:
                unbounded.append(f"{path}: {' -> '.join(cycle)}")
    assert unbounded == []


POLLERS = [
    ("get_model_status", "get_model_status/training.json", "model", ModelState),
    ("get_job_status", "get_job_status/in_progress.json", "test", JobsState),
    ("get_endpoint_status", "get_endpoint_status/creating.json", "endpoint", EndpointState),
]


def _never_ready_deps(max_poll_attempts: int) -> Any:
    """Adapters whose resource is never ready (status unchanged, not failed), and the attempt limit."""
    status = SimpleNamespace(
        status="IN_PROGRESS", failed=False, done=False, message="", output_uri="", model_arn="other"
    )
    ops = SimpleNamespace(describe_training=lambda arn: status, describe_test_job=lambda job_id: status)
    return SimpleNamespace(
        settings=SimpleNamespace(max_poll_attempts=max_poll_attempts),
        ops=lambda kind: ops,
        comprehend=SimpleNamespace(describe_endpoint=lambda arn: status),
        registry=SimpleNamespace(update_job=lambda *a, **k: None, update_model=lambda *a, **k: None),
    )


@pytest.mark.parametrize(("function", "event_file", "key", "model"), POLLERS, ids=[p[0] for p in POLLERS])
def test_polling_function_raises_poll_timed_out_after_the_last_attempt(
    function: str, event_file: str, key: str, model: type[Any]
) -> None:
    """Given a sample poll event whose attempt counter has reached MAX_POLL_ATTEMPTS
    When the polling step runs once more and the resource is still not ready
    Then it raises PollTimedOut (the error that ends the poll loop through the Catch)."""
    event = json.loads((EVENTS / event_file).read_text())
    part = model.model_validate(event[key])
    deps = _never_ready_deps(max_poll_attempts=part.attempt)
    with pytest.raises(errors.PollTimedOut):
        getattr(lifecycle, function)(Run.model_validate(event["run"]), part, deps)


# --- cfn-lint --------------------------------------------------------------------------------------------
def test_asl_passes_cfn_lint_step_functions_rule() -> None:
    """Given the ASL file with its ${...} substituted by placeholder ARNs and numbers
    When it is wrapped in a plain AWS::StepFunctions::StateMachine and linted
    Then cfn-lint reports nothing (E3601 validates the definition against the ASL schema)."""
    assert lint_asl_file(ASL) == []


def test_asl_lint_wrapper_reports_an_invalid_definition(asl: dict[str, Any]) -> None:
    """Given the real definition with a Wait state whose duration is a string
    When the wrapper lints it
    Then E3601 reports it (the wrapper really runs the rule: a clean result above means something)."""
    broken = json.loads(json.dumps(asl).replace('"SecondsPath": "$.poll_seconds"', '"Seconds": "soon"'))
    assert any(finding.startswith("E3601") for finding in lint_definition(broken))


def test_run_lock_outlives_the_longest_execution() -> None:
    """Given the machine's TimeoutSeconds and the default lock expiry of a run
    When they are compared
    Then the lock lasts longer, so a live run never loses it to expiry."""
    from comprehend_al.settings import Settings

    definition = json.loads(ASL.read_text())
    assert Settings.model_fields["lock_seconds"].default > definition["TimeoutSeconds"]
