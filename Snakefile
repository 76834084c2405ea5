"""The astrocore workflow: runs -> data/<experiment>/<point>.nc -> figure notebooks -> figures/.

    snakemake --cores all                                  # default profile (config/default.yaml)
    snakemake --cores all --configfile config/quick.yaml   # CI-sized, same DAG
    snakemake --workflow-profile profiles/slurm            # on a SLURM cluster

Every run notebook and figure notebook is executed by papermill with the
parameters of its config block; the executed notebook is the rule's log, so
a failed run keeps its traceback under logs/. The rules live in rules/, one
file per part of the study.
"""

import json
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")

ROOT = Path(workflow.basedir)
NOTEBOOKS = ROOT / "notebooks"


configfile: str(ROOT / "config" / "default.yaml")


validate(config, str(ROOT / "config" / "schema.yaml"))


def number(value):
    """A sweep value as it appears in a file name (0.001, 10)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def papermill(notebook, parameters, threads):
    """Shell command executing ``notebook`` with ``parameters``; the rule appends its log path."""
    payload = json.dumps(parameters).replace("'", "'\\''")
    return (f"OMP_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads} MKL_NUM_THREADS={threads} "
            f"ASTROCORE_PROGRESS=0 '{sys.executable}' -m papermill --no-progress-bar -k python3 "
            f"--cwd '{NOTEBOOKS}' -y '{payload}' '{NOTEBOOKS / notebook}'")


def absolute(paths):
    return [str(Path(p).resolve()) for p in paths]


def figure_outputs(name):
    return multiext(f"figures/{name}", ".png", ".pdf") + multiext(f"figures/tables/{name}", ".csv", ".md")


# Every figure of the study, by name; each rules/*.smk file adds its own.
FIGURES = {}


include: "rules/mgd.smk"
include: "rules/rhythmic.smk"
include: "rules/bench.smk"
include: "rules/smart.smk"
include: "rules/hardware_reservoir.smk"
include: "rules/hardware_mgd.smk"
include: "rules/hardware_energy.smk"


rule all:
    default_target: True
    input:
        [path for outputs in FIGURES.values() for path in outputs],
