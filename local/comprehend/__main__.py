"""Run the local Comprehend service on its own: ``python -m local.comprehend [--port 8765]``.

S3 is reached with a plain boto3 client: point it at a local S3 (``--s3-endpoint-url``, or
``AWS_ENDPOINT_URL_S3``); without one it would be real S3, so the runner refuses to start.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

from local.comprehend.server import ComprehendService


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.comprehend", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state-dir", type=Path, default=Path(".local-state/comprehend"))
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    parser.add_argument("--s3-endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL_S3"))
    parser.add_argument("--min-docs-per-label", type=int, default=10)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if not args.s3_endpoint_url:
        parser.error("--s3-endpoint-url (or AWS_ENDPOINT_URL_S3) is required: nothing may reach real AWS")

    def s3_client() -> Any:
        import boto3

        return boto3.client("s3", region_name=args.region, endpoint_url=args.s3_endpoint_url)

    service = ComprehendService(
        args.state_dir,
        region=args.region,
        s3_client_factory=s3_client,
        min_docs_per_label=args.min_docs_per_label,
    )
    url = service.start(args.host, args.port)
    print(f"AWS_ENDPOINT_URL_COMPREHEND={url}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    service.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
