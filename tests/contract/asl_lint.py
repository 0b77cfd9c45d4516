"""cfn-lint's Step Functions rule (E3601) on the ASL file (cfn-lint skips it behind a ``DefinitionUri``).

The ASL file's ``${...}`` substitutions are replaced by placeholders of the right shape (Lambda ARNs for
``...FunctionArn``, the parameter's default for a ``!Ref`` to a template parameter), the definition is
wrapped in a plain ``AWS::StepFunctions::StateMachine`` with ``Definition``, and that template is linted.

Run it as ``python -m tests.contract.asl_lint [file.asl.json ...]`` (``make lint`` does); the contract
tests call :func:`lint_definition`.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
ASL_FILES = sorted((ROOT / "statemachine").glob("*.asl.json"))
ACCOUNT = "123456789012"
REGION = "us-east-1"
SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def _template_parameters() -> dict[str, Any]:
    from local.stack import load_template

    return dict(load_template(TEMPLATE).get("Parameters", {}))


def placeholder(name: str, parameters: dict[str, Any]) -> str:
    """A value of the right shape for the substitution ``${name}``."""
    if name in parameters:
        return str(parameters[name].get("Default", "1"))
    if name.endswith("FunctionArn"):
        function = name.removesuffix("Arn")
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:offline-{function}"
    if name.endswith("Arn"):
        return f"arn:aws:sns:{REGION}:{ACCOUNT}:offline-{name.removesuffix('Arn')}"
    return "1"


def substitute(text: str, parameters: dict[str, Any] | None = None) -> str:
    params = _template_parameters() if parameters is None else parameters
    return SUBSTITUTION.sub(lambda m: placeholder(m.group(1), params), text)


def wrap(definition: dict[str, Any]) -> dict[str, Any]:
    """A minimal CloudFormation template holding the definition in a plain state machine."""
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "StateMachine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/offline-state-machine",
                    "Definition": definition,
                },
            }
        },
    }


def lint_definition(definition: dict[str, Any]) -> list[str]:
    """cfn-lint findings (``rule: message``) for an ASL definition, written to a temporary template file."""
    from cfnlint.api import ManualArgs, lint_file

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "asl-wrapper.json"
        path.write_text(json.dumps(wrap(definition), indent=1))
        matches = lint_file(path, config=ManualArgs(regions=[REGION]))
    return [f"{m.rule.id}: {m.message} (line {m.linenumber})" for m in matches]


def lint_asl_file(path: Path, parameters: dict[str, Any] | None = None) -> list[str]:
    return lint_definition(json.loads(substitute(path.read_text(), parameters)))


def main(argv: list[str]) -> int:
    files = [Path(a) for a in argv] or ASL_FILES
    parameters = _template_parameters()
    failed = False
    for path in files:
        findings = lint_asl_file(path, parameters)
        for finding in findings:
            print(f"{path}: {finding}")
        failed = failed or bool(findings)
    if not failed:
        print(f"ASL (cfn-lint E3601 and friends): {len(files)} file(s) clean")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
