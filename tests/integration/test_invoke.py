"""`make invoke` / `comprehend-al invoke` without Docker: every sample event of `events/` gets the function's
answer from its real handler on the offline stack, never a crash of the tool."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from comprehend_al import errors

from local import cli
from local.invoke import Invoker, every_sample_event, functions, offline, resolve

ROOT = Path(__file__).resolve().parents[2]
TYPED_ERRORS = {
    name for name, value in inspect.getmembers(errors, inspect.isclass) if issubclass(value, Exception)
}
# What cannot be seeded under the event's own name (Comprehend names jobs itself; the A2I answer file and the
# job output come from work that never ran offline): the function's typed error is its honest answer.
EXPECTED_ERRORS = {
    ("GetJobStatusFunction", "in_progress.json"): "ComprehendRequestRejected",
    ("EvaluateModelFunction", "completed.json"): "ResourceNotFound",
    ("ProcessReviewFunction", "completed.json"): "ResourceNotFound",
    # batches and model versions exist only after runs made them (the seed makes no batch or version history)
    ("ChangeBatchFunction", "drop.json"): "ResourceNotFound",
    ("ChangeBatchFunction", "readmit.json"): "ResourceNotFound",
    ("StartRollbackFunction", "classifier.json"): "ResourceNotFound",
    # the seed trains no entity recognizer: documents at rest have no model to assess them
    ("ReviewDocumentsFunction", "documents.json"): "ModelNotReady",
}
# HTTP API functions answer errors in the API's error shape (statusCode >= 400), not by raising.
EXPECTED_HTTP = {("FeedbackFunction", "by_prediction_id.json"): (404, "prediction_not_found")}
EVENTS = every_sample_event()


@pytest.fixture(scope="module")
def invoker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Invoker]:
    with offline(tmp_path_factory.mktemp("invoke")) as ready:
        yield ready


def test_every_function_has_a_sample_event() -> None:
    """Given the template, then each function has at least one event in events/<its folder>/."""
    assert sorted(functions()) == sorted({function for function, _ in EVENTS})


def test_every_function_folder_has_what_sam_build_expects() -> None:
    """Given the template's functions, then each CodeUri folder has a requirements.txt (empty: the layer
    brings the dependencies), so `sam build` does not warn that it found none."""
    assert [
        f
        for f in sorted(set(functions().values()))
        if not (ROOT / "functions" / f / "requirements.txt").is_file()
    ] == []


@pytest.mark.parametrize(("function", "event"), EVENTS, ids=[f"{f}-{e.name}" for f, e in EVENTS])
def test_every_sample_event_gets_the_functions_answer(invoker: Invoker, function: str, event: Path) -> None:
    """Given a sample event, when its function is invoked in-process, then the handler answers: a result, an
    HTTP response, or (for the events listed above) its typed error, the name Step Functions would match."""
    result = invoker.invoke(function, event)

    key = (function, event.name)
    if key in EXPECTED_ERRORS:
        assert result.error == "Unhandled" and result.error_type == EXPECTED_ERRORS[key], result.response
        assert result.error_type in TYPED_ERRORS
        return
    assert result.error is None, result.response
    assert result.response is not None
    if isinstance(result.response, dict) and "statusCode" in result.response:
        body = json.loads(result.response["body"])
        if key in EXPECTED_HTTP:
            assert (result.response["statusCode"], body["error"]["code"]) == EXPECTED_HTTP[key]
        else:
            assert result.response["statusCode"] < 400, body


def test_classify_is_answered_by_a_seeded_active_model(invoker: Invoker) -> None:
    """Given the classify sample event, when it is invoked, then a classifier the workflow trained answers."""
    result = invoker.invoke("ClassifyFunction", ROOT / "events" / "classify" / "text.json")

    assert json.loads(result.response["body"])["label"] == "BILLING"


def test_names_of_a_function_resolve_to_its_logical_id() -> None:
    """Given a logical id, a step name or a folder name in any case, then they all name the same function."""
    assert {resolve(n) for n in ["GetModelStatusFunction", "GetModelStatus", "get_model_status"]} == {
        "GetModelStatusFunction"
    }
    with pytest.raises(LookupError, match="one of"):
        resolve("NoSuchFunction")


def test_an_unknown_function_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Given a name no function has, then `invoke` exits 2 and lists the functions."""
    assert cli.main(["invoke", "NoSuchFunction"]) == cli.ExitCode.USAGE
    assert "GetModelStatusFunction" in capsys.readouterr().err


def test_make_invoke_without_docker_prints_the_handlers_response(tmp_path: Path) -> None:
    """Given no Docker (OFFLINE=1 stands for it where a daemon runs), when `make invoke` runs the README's
    command, then the handler's response is printed on stdout and its run on stderr, exit 0."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "MAKEFLAGS", "MFLAGS"}}
    done = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "invoke",
            "FN=GetModelStatusFunction",
            "EVENT=events/get_model_status/training.json",
        ],
        cwd=ROOT,
        env={**env, "OFFLINE": "1", "COMPREHEND_AL_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr
    response = json.loads(done.stdout[done.stdout.index("{") :])
    assert response["model_arn"].endswith("/version/v20261123-120501-ab12cd") and response["status"]
    assert "START GetModelStatusFunction" in done.stderr
