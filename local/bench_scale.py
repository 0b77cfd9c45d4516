"""How PrepareTrainingData scales: merge time and peak memory of one upload into a large current dataset.

    python -m local.bench_scale [--sizes 100000,1000000] [--upload 10000] [--batch-rows 10000]

For each size, a fresh process builds a current classifier dataset of that many rows (news-length
generated text, 4 labels) in moto S3 / DynamoDB: the rows are written directly as accepted batches of
``--batch-rows`` rows, then composed once into a dataset version by the layer's own ``compose`` (the setup,
not measured). Then an upload of ``--upload`` rows lands under ``train/new/`` (with 3 % texts already in the
dataset under the same label, 1 % under a new label, drawn from anywhere in it) and the real
PrepareTrainingData handler (``functions/prepare_training_data/app.py``) merges it: that call is measured.

Each case runs twice in its own process: once for the time (wall and CPU seconds of the handler call), once
under ``tracemalloc`` for the peak memory of that call (started after the setup, so it counts every Python
and numpy allocation made during the merge, moto's transient copies of the objects read and written
included: an upper bound of what the function itself needs). moto keeps S3 objects over 1 MiB on disk
(``MOTO_S3_DEFAULT_KEY_BUFFER_SIZE``), as S3 would keep them out of the function's memory.

Progress goes to stderr; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "bench-scale-data"
TABLE = "bench-scale-registry"
LABELS = ("WORLD", "SPORTS", "BUSINESS", "SCITECH")
ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
    "MOTO_S3_DEFAULT_KEY_BUFFER_SIZE": str(1024 * 1024),
    "DATA_BUCKET": BUCKET,
    "REGISTRY_TABLE": TABLE,
    "NOTIFICATION_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:bench-scale",
    "PARAMETER_PREFIX": "/bench-scale",
    "RESOURCE_PREFIX": "bench-scale",
    "COMPREHEND_DATA_ACCESS_ROLE_ARN": "arn:aws:iam::123456789012:role/bench-scale",
    "MIN_DOCS_PER_LABEL": "10",
    "POWERTOOLS_SERVICE_NAME": "bench-scale",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- generated news-length text ------------------------------------------------------------------------
_TOPICS = {
    "WORLD": "minister election talks border treaty capital protest summit envoy parliament ceasefire",
    "SPORTS": "match season coach striker league final tournament injury goal champion referee",
    "BUSINESS": "shares profit quarter merger investors market earnings bank prices deal revenue",
    "SCITECH": "software chip researchers launch network data space device study satellite update",
}
_GLUE = "the a of in on after before said new first week over amid as officials report with"


def _words(line: str) -> list[str]:
    return line.split()


def _sentences(label: str, count: int, seed: int) -> list[str]:
    import random

    rng, words, glue = random.Random(f"{label}-{seed}"), _words(_TOPICS[label]), _words(_GLUE)
    return [
        " ".join(rng.choice(words if rng.random() < 0.45 else glue) for _ in range(rng.randint(9, 13)))
        for _ in range(count)
    ]


class Texts:
    """Unique, news-length (~250 characters) texts per label: four generated sentences and a serial."""

    def __init__(self, seed: int = 0) -> None:
        import numpy as np

        self.pool = {label: _sentences(label, 400, seed) for label in LABELS}
        self.rng = np.random.default_rng(seed)

    def rows(self, start: int, count: int) -> list[tuple[str, str]]:
        picks = self.rng.integers(0, 400, size=(count, 4))
        labels = self.rng.integers(0, len(LABELS), size=count)
        out = []
        for i in range(count):
            label = LABELS[int(labels[i])]
            pool = self.pool[label]
            a, b, c, d = (pool[int(j)] for j in picks[i])
            out.append((label, f"{a.capitalize()}. {b}, {c}; {d} (story {start + i})."))
        return out


def _csv(rows: list[tuple[str, str]]) -> bytes:
    from comprehend_al.datasets.classification import Row, to_csv

    return to_csv(Row((label,), text) for label, text in rows)


# --- one case, in its own process ------------------------------------------------------------------------
def run_case(size: int, upload: int, batch_rows: int, trace: bool) -> dict[str, Any]:
    os.environ.update(ENV)
    import importlib.util

    import boto3
    import numpy as np
    from comprehend_al import wiring
    from comprehend_al.datasets.classification import parse_upload
    from comprehend_al.lifecycle.lineage import batch_id, compose, new_batch
    from comprehend_al.models import BatchStatus, ModelKind
    from moto import mock_aws

    from local.stack import LambdaContextStub

    kind = ModelKind.CLASSIFIER
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        boto3.resource("dynamodb", region_name="us-east-1").create_table(
            TableName=TABLE,
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        boto3.client("sns", region_name="us-east-1").create_topic(Name="bench-scale")
        wiring.reset()
        deps = wiring.lifecycle_deps()
        data = deps.data(kind)
        texts = Texts(seed=size)
        started = time.perf_counter()
        test_rows = [(label, f"{text} (test)") for label, text in texts.rows(10 * size, 200)]
        s3.put_object(Bucket=BUCKET, Key=data.test_key, Body=_csv(test_rows))
        sample: list[tuple[str, str]] = []
        per_batch = upload // 25 // -(-size // batch_rows) + 1
        picker = np.random.default_rng(7)
        for start in range(0, size, batch_rows):
            rows = texts.rows(start, min(batch_rows, size - start))
            # texts the upload repeats (duplicates, conflicts), from anywhere in the dataset
            sample.extend(
                rows[int(i)] for i in picker.choice(len(rows), min(per_batch, len(rows)), replace=False)
            )
            parsed = parse_upload(_csv(rows), file="setup", multi_label=False)
            source = f"train/new/setup-{start:08d}.csv"
            bid = batch_id(kind, [source])
            deps.registry.put_batch(
                new_batch(
                    kind,
                    bid=bid,
                    status=BatchStatus.ACCEPTED,
                    source=source,
                    sources=[f"{source}@setup"],
                    upload_prefix=deps.settings.upload_prefix,
                    execution_id="setup",
                    rows=len(parsed),
                    data_uri=data.write_batch(bid, parsed),
                )
            )
            del rows, parsed
        compose(kind, deps, version="d00000000-setup", execution_id="setup", reason="setup")
        current = deps.registry.current_dataset(kind)
        assert current is not None and current.documents == size, current
        setup_s = time.perf_counter() - started
        log(f"  {size:,} rows in the current dataset ({setup_s:.0f} s to build)")

        new = texts.rows(size, upload)
        picker.shuffle(sample)
        duplicates, conflicts = int(upload * 0.03), int(upload * 0.01)
        for i in range(duplicates):
            new[i] = sample[i % len(sample)]
        for i in range(conflicts):
            label, text = sample[(duplicates + i) % len(sample)]
            new[duplicates + i] = (LABELS[(LABELS.index(label) + 1) % len(LABELS)], text)
        s3.put_object(Bucket=BUCKET, Key="train/new/upload.csv", Body=_csv(new))
        del new, sample, texts

        path = ROOT / "functions" / "prepare_training_data" / "app.py"
        spec = importlib.util.spec_from_file_location("bench_prepare_training_data", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        event = {"execution_id": "arn:aws:states:us-east-1:123456789012:execution:bench:merge", "event": {}}
        context = LambdaContextStub(function_name="bench-prepare")
        import gc

        gc.collect()
        if trace:
            import tracemalloc

            tracemalloc.start()
        profile = None
        if os.environ.get("BENCH_SCALE_PROFILE"):  # a cProfile of the merge, for development
            import cProfile

            profile = cProfile.Profile()
            profile.enable()
        wall, cpu = time.perf_counter(), time.process_time()
        result = module.lambda_handler(event, context)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if profile is not None:
            profile.disable()
            profile.dump_stats(os.environ["BENCH_SCALE_PROFILE"])
        peak = 0
        if trace:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        outcome = result["outcomes"][0]
        merged = deps.registry.current_dataset(kind)
        assert merged is not None
        return {
            "rows": size,
            "upload": upload,
            "setup_s": round(setup_s, 1),
            "merge_s": round(wall, 2),
            "merge_cpu_s": round(cpu, 2),
            "peak_mb": round(peak / 2**20, 1) if trace else None,
            "status": outcome.get("status"),
            "added": outcome.get("added"),
            "duplicates_dropped": outcome.get("duplicates_dropped"),
            "conflicts": merged.conflicts,
            "documents": merged.documents,
        }


def _subprocess(size: int, upload: int, batch_rows: int, trace: bool) -> dict[str, Any]:
    command = [sys.executable, "-m", "local.bench_scale", "--case", str(size), "--upload", str(upload)]
    command += ["--batch-rows", str(batch_rows)] + (["--trace"] if trace else [])
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local.bench_scale", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="100000,1000000", help="current dataset sizes (rows), comma-separated"
    )
    parser.add_argument("--upload", type=int, default=10_000, help="rows of the upload merged")
    parser.add_argument("--batch-rows", type=int, default=10_000, help="rows per batch of the setup")
    parser.add_argument("--case", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case is not None:
        print(json.dumps(run_case(args.case, args.upload, args.batch_rows, args.trace)))
        return
    cases = []
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        log(f"{size:,} rows + an upload of {args.upload:,}: timing")
        timed = _subprocess(size, args.upload, args.batch_rows, trace=False)
        log(f"  merge {timed['merge_s']} s (CPU {timed['merge_cpu_s']} s); measuring memory")
        traced = _subprocess(size, args.upload, args.batch_rows, trace=True)
        log(f"  peak {traced['peak_mb']} MB")
        cases.append({**timed, "peak_mb": traced["peak_mb"], "traced_merge_s": traced["merge_s"]})
    goals = {"peak_mb": 512, "merge_s_at_1m": 30}
    met = all(c["peak_mb"] <= goals["peak_mb"] for c in cases) and all(
        c["merge_s"] <= goals["merge_s_at_1m"] for c in cases if c["rows"] >= 1_000_000
    )
    print(json.dumps({"benchmark": "prepare-scale", "cases": cases, "goals": goals, "goals_met": met}))


if __name__ == "__main__":
    main()
