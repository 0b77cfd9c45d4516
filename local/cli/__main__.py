"""``python -m local.cli``: the same program as the installed ``comprehend-al``."""

import sys

from local.cli import main

sys.exit(main())
