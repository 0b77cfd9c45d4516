"""The web pages' files (``web/<page>/``: HTML, CSS), read from the repository at run time.

``web/`` sits beside ``local/`` at the root of the repository and, like ``local/``, is never deployed: the
template's functions and layer package ``functions/`` and ``layers/`` only. Files are read when a page is
rendered (no cache), so an edited stylesheet or template shows on the next request.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

WEB_ROOT = Path(__file__).resolve().parent.parent / "web"
TEMPLATE_MARK = re.compile(r"^<!-- template: ([\w-]+) -->\n", re.MULTILINE)


def asset_path(page: str, name: str) -> Path:
    """``web/<page>/<name>``."""
    return WEB_ROOT / page / name


def read_asset(page: str, name: str) -> str:
    return asset_path(page, name).read_text(encoding="utf-8")


def templates(page: str, name: str) -> dict[str, Template]:
    """The blocks of a template file: each starts with a line ``<!-- template: NAME -->`` (text before the
    first one is a comment for readers); the block's final newline is not part of it."""
    parts = TEMPLATE_MARK.split(read_asset(page, name))
    return {
        key: Template(body.removesuffix("\n")) for key, body in zip(parts[1::2], parts[2::2], strict=True)
    }
