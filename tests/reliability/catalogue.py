"""All cases of the reliability catalogue, gathered from the per-area files."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from .case import Case

CASES: list[Case] = []
for _info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name):
    if _info.name.startswith("cases_"):
        CASES.extend(importlib.import_module(f"{__package__}.{_info.name}").CASES)
