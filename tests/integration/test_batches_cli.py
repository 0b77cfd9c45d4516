"""The CLI's batches / readmit / drop / rollback against a running offline stack (its control port)."""

from __future__ import annotations

from pathlib import Path

import pytest
from comprehend_al.models import ModelKind
from comprehend_al.store.registry import Registry

from local import cli, datagen
from local.control import start
from local.stack import running

CLF = ModelKind.CLASSIFIER


def test_the_cli_lists_batches_drops_one_and_rolls_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given a running stack with two promoted classifiers, when a user lists the batches, drops the
    second and rolls back to the first with the CLI, then each command does it through the state machine
    and says so, and the pointer serves the first version."""
    with running(tmp_path / "comprehend") as env:
        env.stack.put("test/classifier/test.csv", datagen.to_csv(datagen.generate(200, seed=99)))
        env.stack.upload("train/new/first.csv", datagen.to_csv(datagen.generate(75, seed=1)))
        env.stack.upload("train/new/second.csv", datagen.to_csv(datagen.generate(400, seed=2)))
        registry = Registry(env.stack.outputs["RegistryTableName"])
        first, _ = registry.models(CLF)
        _, second_batch = registry.batches(CLF)
        control, url = start(env.stack)
        try:
            assert cli.main(["batches", "--control", url]) == 0
            assert cli.main(["drop", second_batch.batch_id, "--control", url, "--by", "ana"]) == 0
            code = cli.main(["rollback", "--version", first.version, "--control", url, "--reason", "test"])
        finally:
            control.stop()

        out = capsys.readouterr().out
        assert second_batch.batch_id in out and "accepted" in out
        assert code == 0 and "execution SUCCEEDED" in out
        assert registry.batch(CLF, second_batch.batch_id).status == "dropped"  # type: ignore[union-attr]
        assert env.stack.active().model_arn == first.model_arn
        assert [r.reason for r in registry.rollbacks(CLF)] == ["test"]
