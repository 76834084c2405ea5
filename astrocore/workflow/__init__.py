"""What a notebook needs from the workflow around it: its own parameters.

A run notebook records, in its data file's provenance, the hash of every
parameter papermill passed to it (:func:`run_config`), read from the
notebook's own ``parameters`` cell, so no hand-written list can leave one out.
Paths (``out``, ``inputs``, ...) say where, not what, and are left out.

The workflow itself lives in the submodules, which notebooks do not import (so
editing them makes no result out of date):

- :mod:`astrocore.workflow.registry`: the experiment registry
  (``config/experiments.yaml``), the rules generated from it, the parameters
  each job passes, the figure captions of ``snakemake --report``;
- :mod:`astrocore.workflow.imports`: the library modules a notebook imports,
  transitively (each rule's inputs).
"""

from __future__ import annotations

import ast
import functools
import json
from pathlib import Path

from ..validation import InstanceOf, InvalidParameterError, Text, validate_params

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
IO_PARAMETERS = frozenset({"out", "inputs", "raw_dir", "data_dir", "fig_dir", "table_dir"})
"""Parameters that name files or folders: not part of a run's configuration."""


@functools.lru_cache(maxsize=None)
def parameter_names(notebook: str) -> tuple[str, ...]:
    """Names assigned in the ``parameters`` cell of ``notebooks/<notebook>.ipynb``, in order."""
    path = NOTEBOOKS / f"{notebook}.ipynb"
    if not path.is_file():
        raise InvalidParameterError(f"notebook must name a notebook in {NOTEBOOKS}, got {notebook!r} "
                                    f"({path} does not exist)")
    cells = json.loads(path.read_text())["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise InvalidParameterError(f"{path} must have exactly one cell tagged 'parameters', found {len(tagged)}")
    names = []
    for node in ast.parse("".join(tagged[0]["source"])).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names += [t.id for t in targets if isinstance(t, ast.Name) and t.id not in names]
    return tuple(names)


@validate_params({"notebook": Text("mgd_parity_run"), "namespace": InstanceOf(dict, example=dict)})
def run_config(notebook: str, namespace: dict) -> dict:
    """The run's configuration: every parameter of ``notebook`` (from its ``parameters`` cell, as
    papermill set it, read from ``namespace``, i.e. ``globals()``) except the paths."""
    missing = [n for n in parameter_names(notebook) if n not in namespace]
    if missing:
        raise InvalidParameterError(f"namespace lacks the parameter(s) {missing} of notebook {notebook!r}")
    return {n: namespace[n] for n in parameter_names(notebook) if n not in IO_PARAMETERS}
