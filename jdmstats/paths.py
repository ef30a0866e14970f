"""Where things are: the package, and the source checkout it may sit in (defined once here)."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
"""The installed ``jdmstats`` package folder."""

REPO = PACKAGE.parent
"""The repository root when running from a source checkout (``REPO / "data"`` exists there)."""

REPO_DATA = REPO / "data"
"""``data/`` of a source checkout: ``extraction/`` and ``harmonised/``."""

PACKAGED_DATA = PACKAGE / "_data" / "harmonised"
"""The harmonised tables bundled inside an installed wheel."""


def in_checkout() -> bool:
    """True when the package runs from a source checkout with its extraction files."""
    return (REPO_DATA / "extraction").is_dir()
