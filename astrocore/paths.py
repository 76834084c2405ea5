"""Where notebooks read and write.

Relative paths resolve against the work directory: ``ASTROCORE_WORKDIR`` when
set (the test suite points it at a scratch copy of the quick workflow, so
tests never touch the committed figures), else the repository root. Absolute
paths (as snakemake passes them) are kept as they are.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def workdir() -> Path:
    """The directory that relative data and figure paths are taken from."""
    return Path(os.environ.get("ASTROCORE_WORKDIR") or REPO_ROOT)


def resolve(path) -> Path:
    """``path`` as an absolute Path (relative ones against :func:`workdir`)."""
    path = Path(path)
    return path if path.is_absolute() else workdir() / path
