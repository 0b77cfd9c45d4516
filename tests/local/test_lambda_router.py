"""The offline stack's Lambda router: its fault and hook points (what the fault matrix stands on)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local.stack import FunctionSpec, LambdaRouter

HANDLER = """
CALLS = []


def lambda_handler(event, context):
    CALLS.append(event)
    return {"ok": True}
"""


@pytest.fixture
def router(tmp_path: Path) -> LambdaRouter:
    (tmp_path / "app.py").write_text(HANDLER)
    arn = "arn:aws:lambda:us-east-1:123456789012:function:step"
    spec = FunctionSpec("StepFunction", "step", arn, tmp_path, "app.lambda_handler", {}, 3)
    return LambdaRouter({"StepFunction": spec, "step": spec, arn: spec}, {})


def handled(router: LambdaRouter) -> list[Any]:
    return list(router._module(router.resolve("StepFunction")).CALLS)


def test_a_crash_before_the_handler_leaves_no_side_effect(router: LambdaRouter) -> None:
    """Given a crash armed before the handler, when invoked, then Lambda's error comes back unhandled."""
    router.fail_next("StepFunction", RuntimeError("died early"))

    result, error = router.invoke("StepFunction", {"n": 1})

    assert (error, result["errorType"], result["errorMessage"]) == ("Unhandled", "RuntimeError", "died early")
    assert handled(router) == []


def test_a_crash_after_the_handler_keeps_its_side_effect_and_loses_its_result(router: LambdaRouter) -> None:
    """Given a crash armed after the handler, when invoked, then the handler ran and the error replaced
    its result; the next invocation is normal."""
    router.fail_next("StepFunction", RuntimeError("died late"), after=True)

    result, error = router.invoke("StepFunction", {"n": 1})
    again, no_error = router.invoke("StepFunction", {"n": 2})

    assert (error, result["errorType"]) == ("Unhandled", "RuntimeError")
    assert handled(router) == [{"n": 1}, {"n": 2}]
    assert (again, no_error) == ({"ok": True}, None)


def test_hooks_see_every_invocation_before_and_after(router: LambdaRouter) -> None:
    """Given before and after hooks, when an invocation fails, then both still see it, in order."""
    seen: list[tuple[str, str]] = []
    router.before_invoke.append(lambda function, _: seen.append(("before", function)))
    router.after_invoke.append(lambda function, _: seen.append(("after", function)))
    router.fail_next("StepFunction", RuntimeError("died early"))

    router.invoke("StepFunction", {})

    assert seen == [("before", "StepFunction"), ("after", "StepFunction")]
