"""The astrocore workflow: runs -> data/<experiment>/<point>.nc -> figure notebooks -> figures/.

    snakemake --cores all                                  # default profile (config/default.yaml)
    snakemake --cores all --configfile config/quick.yaml   # CI-sized, same DAG
    snakemake --workflow-profile profiles/slurm            # on a SLURM cluster
    snakemake --report report.zip                          # every figure with its caption and provenance

The rules are generated from the experiment registry, config/experiments.yaml (each experiment
declared once: its config block, run notebook, sweep, figure notebook, figures and tables):
rules/experiments.smk, with the helpers of rules/common.smk. Every run notebook and figure notebook
is executed by papermill with every parameter of its parameters cell; the executed notebook is the
rule's log, so a failed run keeps its traceback under logs/. Each rule also depends on the library
modules its notebook imports, so editing a kernel makes exactly the results computed with it out of
date. rules/optional.smk holds the opt-in targets (Fashion-MNIST, benchmarks).
"""

import sys
from pathlib import Path

import yaml
from snakemake.utils import min_version, validate

min_version("9.0")

ROOT = Path(workflow.basedir)
sys.path.insert(0, str(ROOT))  # astrocore from this checkout, whichever python runs snakemake

from astrocore.config import check as check_config  # noqa: E402


configfile: str(ROOT / "config" / "default.yaml")


# Every number finite, the schema (integers are ints), and the relations between fields; each
# problem named with its file, line and key path (astrocore.config). Then snakemake's own validation.
SCHEMA = yaml.safe_load((ROOT / "config" / "schema.yaml").read_text())
check_config(config, [ROOT / "config" / "default.yaml", *workflow.overwrite_configfiles], schema=SCHEMA)
validate(config, str(ROOT / "config" / "schema.yaml"))


include: "rules/common.smk"
include: "rules/experiments.smk"
include: "rules/optional.smk"


rule all:
    default_target: True
    input:
        REGISTRY.outputs(),
