"""The astrocore workflow: runs -> data/<experiment>/<point>.nc -> figure notebooks -> figures/.

    snakemake --cores all                                  # default profile (config/default.yaml)
    snakemake --cores all --configfile config/quick.yaml   # CI-sized, same DAG
    snakemake --workflow-profile profiles/slurm            # on a SLURM cluster

Every run notebook and figure notebook is executed by papermill with the
parameters of its config block; the executed notebook is the rule's log, so
a failed run keeps its traceback under logs/. The rules live in rules/, one
file per part of the study.
"""

import re
import sys
from pathlib import Path

import yaml
from snakemake.utils import min_version, validate

min_version("9.0")

ROOT = Path(workflow.basedir)
NOTEBOOKS = ROOT / "notebooks"
sys.path.insert(0, str(ROOT))  # astrocore.config from this checkout, whichever python runs snakemake

from astrocore.config import check as check_config, papermill_command  # noqa: E402


configfile: str(ROOT / "config" / "default.yaml")


# Every number finite, the schema (integers are ints), and the relations between fields; each
# problem named with its file, line and key path (astrocore.config). Then snakemake's own validation.
SCHEMA = yaml.safe_load((ROOT / "config" / "schema.yaml").read_text())
check_config(config, [ROOT / "config" / "default.yaml", *workflow.overwrite_configfiles], schema=SCHEMA)
validate(config, str(ROOT / "config" / "schema.yaml"))


def number(value):
    """A sweep value as it appears in a file name (0.001, 10)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def papermill(notebook, parameters, threads):
    """Shell command executing ``notebook`` with ``parameters``; the rule appends its log path
    (``{log:q}``). Every path and the parameters are quoted (astrocore.config.quote)."""
    return papermill_command(sys.executable, NOTEBOOKS, notebook, parameters, threads)


def choices(*path):
    """Wildcard constraint: exactly one of the names config/schema.yaml allows at ``path``."""
    node = SCHEMA
    for key in path:
        node = node[key]
    return "|".join(re.escape(str(name)) for name in node["enum"])


def one_of(names):
    """Wildcard constraint: exactly one of ``names`` (e.g. the config's sweep points)."""
    return "|".join(re.escape(str(name)) for name in names) or "(?!)"


INTEGER = r"[0-9]+"
NUMBER = r"-?[0-9]+(\.[0-9]+)?(e[-+][0-9]+)?"  # number(): 10, 0.001, 1e-05


# Every wildcard of every rule matches only what the workflow itself writes: an integer, a
# number as number() spells it, or a name the schema allows (rules tighten these to the
# config's own points where a point must exist). Nothing else reaches a shell command.
wildcard_constraints:
    bits=INTEGER,
    width=INTEGER,
    batch=INTEGER,
    tau_theta=INTEGER,
    eta=NUMBER,
    context=NUMBER,
    mode=choices("definitions", "mode"),
    dataset=choices("definitions", "dataset"),
    method=choices("properties", "mgd_vs_backprop", "properties", "methods", "items"),
    case=choices("properties", "rhythmic_regimes", "properties", "cases", "items"),
    system=choices("properties", "rhythmic_systems", "properties", "systems", "items"),
    model=choices("properties", "rhythmic_adaptation", "properties", "models", "items"),
    direction="|".join(choices("properties", block, "properties", "directions", "items")
                       for block in ("smart_perturbations", "smart_gradient", "smart_scaling")),
    name="mgd|reservoir",
    point=r"[A-Za-z0-9_.+-]+",


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
