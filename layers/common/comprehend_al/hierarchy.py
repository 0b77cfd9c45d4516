"""Nested taxonomies: ``PARENT/CHILD`` labels, a parent model and one child model per parent (stub)."""

from __future__ import annotations

from typing import Any


def split_taxonomy_uploads(deps: Any) -> None:
    """Nothing to split unless ``TAXONOMY=nested``."""
    if deps.settings.taxonomy != "nested":
        return
