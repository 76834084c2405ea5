"""Constraints the analysis modules share: a list of runs and a result table."""

from __future__ import annotations

import pandas as pd

from astrocore.validation import InstanceOf

RUNS = InstanceOf(list, tuple, example=list)
"""A list (or tuple) of run Datasets, as a figure notebook reads them."""
TABLE = InstanceOf(pd.DataFrame, example=pd.DataFrame)
"""A result table."""
