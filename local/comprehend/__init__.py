"""A local, Amazon Comprehend-compatible HTTP service (JSON 1.1 protocol) for the offline stack.

    from local.comprehend import ComprehendService

    with ComprehendService(state_dir) as service:      # or service.start(host, port) / service.stop()
        comprehend = boto3.client("comprehend", endpoint_url=service.url)

See :mod:`local.comprehend.server` for the service, :mod:`local.comprehend.registry` for adding
operations, :mod:`local.comprehend.classifier` and :mod:`local.comprehend.endpoints` for what it serves.
"""

from local.comprehend.errors import ComprehendError
from local.comprehend.faults import Faults
from local.comprehend.server import ComprehendService

__all__ = ["ComprehendError", "ComprehendService", "Faults"]
