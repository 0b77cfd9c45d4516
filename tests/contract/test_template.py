"""Contract: template.yaml against the code tree, least-privilege IAM, and cfn-lint."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

import pytest

from tests.contract.conftest import ROOT, STATE_MACHINE, TEMPLATE, function_dirs, functions_in

RUNTIME = "python3.13"
# Actions without resource-level permissions: the only statements that may use Resource "*".
LIST_ACTIONS = {
    "comprehend:ListEndpoints",
    "comprehend:ListDocumentClassifiers",
    "comprehend:ListEntityRecognizers",
    "comprehend:DetectDominantLanguage",  # not a list, but it too names no resource
}
LOG_DELIVERY_ACTIONS = {
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(resource, statement) of every IAM policy statement written in the template (any resource type)."""

    def walk(owner: str, value: Any) -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(value, dict):
            if "Effect" in value and ("Action" in value or "NotAction" in value):
                yield owner, value
            for item in value.values():
                yield from walk(owner, item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(owner, item)

    for name, resource in template["Resources"].items():
        yield from walk(name, resource.get("Properties", {}))


def _key_policy(template: dict[str, Any], owner: str) -> bool:
    """A KMS key's own policy: there "*" is the key itself (a key policy names no other resource)."""
    return bool(template["Resources"][owner]["Type"] == "AWS::KMS::Key")


def allow_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    return ((owner, s) for owner, s in statements(template) if s["Effect"] == "Allow")


def function_ids() -> list[str]:
    from local.stack import load_template

    return sorted(functions_in(load_template(TEMPLATE)))


# --- functions against the code tree ---------------------------------------------------------------------
@pytest.mark.parametrize("logical_id", function_ids())
def test_function_code_uri_is_a_function_dir_with_a_lambda_handler(
    template: dict[str, Any], logical_id: str
) -> None:
    """Given a function of the template
    When its CodeUri is followed
    Then it is functions/<dir>/ and holds an app.py that defines lambda_handler (the Globals Handler)."""
    code_uri = template["Resources"][logical_id]["Properties"]["CodeUri"]
    assert code_uri.startswith("functions/") and code_uri.endswith("/")
    app = ROOT / code_uri / "app.py"
    tree = ast.parse(app.read_text())
    handlers = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "lambda_handler"]
    assert handlers == ["lambda_handler"]


def test_every_function_uses_the_globals_handler_and_runtime(template: dict[str, Any]) -> None:
    """Given every function of the template and its Globals
    When each function's effective Runtime and Handler are read
    Then they are python3.13 and app.lambda_handler."""
    globals_ = template.get("Globals", {}).get("Function", {})
    effective = {
        name: (
            fn["Properties"].get("Runtime", globals_.get("Runtime")),
            fn["Properties"].get("Handler", globals_.get("Handler")),
        )
        for name, fn in functions_in(template).items()
    }
    assert {n: v for n, v in effective.items() if v != (RUNTIME, "app.lambda_handler")} == {}


def test_layer_is_built_for_the_function_runtime(template: dict[str, Any]) -> None:
    """Given the common layer
    When its compatible runtimes and build method are read
    Then they match the functions' runtime (a mismatched layer fails to import at cold start)."""
    layers = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::LayerVersion"]
    assert layers and all(
        layer["Properties"]["CompatibleRuntimes"] == [RUNTIME] and layer["Metadata"]["BuildMethod"] == RUNTIME
        for layer in layers
    )


def test_every_function_dir_is_in_the_template(template: dict[str, Any]) -> None:
    """Given the folders under functions/
    When they are compared with the functions' CodeUri
    Then every folder is deployed (none is forgotten) and every CodeUri is a folder."""
    code_dirs = {
        fn["Properties"]["CodeUri"].strip("/").split("/", 1)[1] for fn in functions_in(template).values()
    }
    assert code_dirs == set(function_dirs())


# --- IAM -------------------------------------------------------------------------------------------------
def test_no_allow_statement_grants_a_wildcard_action(template: dict[str, Any]) -> None:
    """Given every Allow statement written in the template
    When its actions are read
    Then none is "*" or "service:*", and none uses NotAction (the public sample granted comprehend:*)."""
    wildcards = [
        f"{owner}: {action}"
        for owner, statement in allow_statements(template)
        for action in _listed(statement.get("Action", "NotAction"))
        if action == "NotAction" or (isinstance(action, str) and (action == "*" or action.endswith(":*")))
    ]
    assert wildcards == []


def test_no_wildcard_action_after_sam_expands_the_policy_templates(translated: dict[str, Any]) -> None:
    """Given the template translated to CloudFormation (SAM policy templates expanded)
    When every Allow statement's actions are read
    Then none is "*" or "service:*"."""
    wildcards = [
        f"{owner}: {action}"
        for owner, statement in allow_statements(translated)
        for action in _listed(statement.get("Action", []))
        if isinstance(action, str) and (action == "*" or action.endswith(":*"))
    ]
    assert wildcards == []


def test_no_full_access_managed_policy(translated: dict[str, Any]) -> None:
    """Given every role of the translated template
    When its managed policies are read
    Then none is an AWS *FullAccess policy."""
    managed = [
        f"{name}: {arn}"
        for name, resource in translated["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
        for arn in resource["Properties"].get("ManagedPolicyArns", [])
        if "FullAccess" in str(arn)
    ]
    assert managed == []


def test_resource_star_only_on_actions_without_resource_arns(template: dict[str, Any]) -> None:
    """Given every Allow statement written in the template
    When its Resource is "*"
    Then it is the state machine's CloudWatch Logs delivery statement, or a function's Comprehend List
    statement (neither has resource-level permissions)."""
    star = [
        (owner, set(_listed(statement["Action"])))
        for owner, statement in allow_statements(template)
        if "*" in _listed(statement.get("Resource", [])) and not _key_policy(template, owner)
    ]
    assert star
    assert all(
        (owner == STATE_MACHINE and actions <= LOG_DELIVERY_ACTIONS) or actions <= LIST_ACTIONS
        for owner, actions in star
    ), star


def test_resource_star_after_expansion_only_for_actions_without_resource_arns(
    translated: dict[str, Any],
) -> None:
    """Given the translated template
    When an Allow statement's Resource is "*"
    Then its actions are CloudWatch Logs delivery ones (which have no resource-level permissions)."""
    allowed = LOG_DELIVERY_ACTIONS | LIST_ACTIONS
    star = [
        f"{owner}: {sorted(set(_listed(statement['Action'])) - allowed)}"
        for owner, statement in allow_statements(translated)
        if "*" in _listed(statement.get("Resource", []))
        and not set(_listed(statement["Action"])) <= allowed
        and not _key_policy(translated, owner)
    ]
    assert star == []


# --- cfn-lint --------------------------------------------------------------------------------------------
def test_template_passes_cfn_lint() -> None:
    """Given template.yaml
    When cfn-lint (which runs the SAM transform) lints it
    Then it reports nothing."""
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(TEMPLATE, config=ManualArgs(regions=["us-east-1"]))
    assert [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in matches] == []
