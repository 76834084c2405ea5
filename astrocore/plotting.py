"""One look for every figure, and reproducible figure and table files.

:func:`use_theme` sets the seaborn theme; :data:`PALETTE` gives each method
and multiplexing mode the same colour in every figure; :func:`save_figure`
writes PNG and PDF with fixed metadata (no timestamps or version strings),
so an unchanged result gives an unchanged file; :func:`save_table` writes a
DataFrame as CSV and Markdown from the same data. All writes are atomic.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from .paths import resolve
from .store import atomic_write
from .validation import Constraint, InstanceOf, InvalidParameterError, validate_params

_COLORS = sns.color_palette("colorblind", 10)
PALETTE = {
    # multiplexing modes and perturbation directions
    "time": _COLORS[0], "frequency": _COLORS[1], "code": _COLORS[2], "walsh": _COLORS[3],
    "node": _COLORS[4], "activity": _COLORS[5], "astrocyte": _COLORS[6],
    # methods
    "backprop": _COLORS[7], "mgd": _COLORS[2], "theory": (0.2, 0.2, 0.2),
    "esn": _COLORS[7], "rhythmic_sharing": _COLORS[8], "parameter_aware_esn": _COLORS[9],
    "reservoirpy_esn": _COLORS[5],
    # online readout learners (astrocore.online)
    "mgd_weight": _COLORS[2], "mgd_node": _COLORS[4], "rls": _COLORS[0], "lms": _COLORS[1],
    "window_ridge": _COLORS[5], "ridge_offline": (0.2, 0.2, 0.2),
}
PNG_METADATA = {"Software": None}
PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None}


def use_theme():
    """The compendium's seaborn theme (white grid, paper context, colourblind palette)."""
    sns.set_theme(context="paper", style="whitegrid", palette="colorblind", font_scale=1.1)
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "savefig.bbox": "tight",
                         "svg.hashsalt": "astrocore", "pdf.compression": 6})


class _FileStem(Constraint):
    """A file name without directory or suffix: non-empty, no path separator, not starting with a dot."""

    def accepts(self, value) -> bool:
        return (isinstance(value, str) and value.strip() == value and value not in ("", ".", "..")
                and not value.startswith(".") and "/" not in value and os.sep not in value
                and "\0" not in value)

    def describe(self) -> str:
        return "a file name (non-empty, without '/' or a leading '.')"

    def invalid_examples(self) -> list:
        return ["", "../escape", "a/b", ".hidden", None, 3]

    def valid_example(self):
        return "figure"


_DIR = InstanceOf(str, os.PathLike, example=lambda: "figures")


@validate_params({"name": InstanceOf(str, example=lambda: "mgd")})
def color(name: str):
    """The colour of a method or mode (an error names the known ones)."""
    if name not in PALETTE:
        raise InvalidParameterError(f"name must be one of {sorted(PALETTE)} (a method or mode with a colour), "
                                    f"got {name!r}")
    return PALETTE[name]


@validate_params({"fig": InstanceOf(Figure, example=plt.figure), "name": _FileStem(), "fig_dir": _DIR})
def save_figure(fig, name: str, fig_dir="figures") -> list[Path]:
    """Save ``fig`` as ``<fig_dir>/<name>.png`` and ``.pdf`` with fixed metadata."""
    fig_dir = resolve(fig_dir)
    paths = [fig_dir / f"{name}.png", fig_dir / f"{name}.pdf"]
    atomic_write(paths[0], lambda tmp: fig.savefig(tmp, format="png", metadata=PNG_METADATA))
    atomic_write(paths[1], lambda tmp: fig.savefig(tmp, format="pdf", metadata=PDF_METADATA))
    return paths


@validate_params({"df": InstanceOf(pd.DataFrame, example=pd.DataFrame), "name": _FileStem(), "table_dir": _DIR,
                  "floatfmt": InstanceOf(str, example=lambda: ".4g")})
def save_table(df, name: str, table_dir="figures/tables", floatfmt: str = ".4g") -> list[Path]:
    """Save ``df`` as ``<table_dir>/<name>.csv`` and ``.md`` (same rows and columns)."""
    table_dir = resolve(table_dir)
    paths = [table_dir / f"{name}.csv", table_dir / f"{name}.md"]
    atomic_write(paths[0], lambda tmp: df.to_csv(tmp, index=False))
    atomic_write(paths[1], lambda tmp: Path(tmp).write_text(
        df.to_markdown(index=False, floatfmt=floatfmt) + "\n"))
    return paths
