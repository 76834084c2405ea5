"""Helpers of the generated rules (rules/experiments.smk) and the opt-in ones (rules/optional.smk).

REGISTRY is config/experiments.yaml, read with the config's schema (astrocore.workflow.registry)
and checked against the config: every parameter of every registered notebook has a source, for
every point, before anything runs.
"""

from astrocore.config import papermill_command
from astrocore.workflow.registry import Registry, caption

NOTEBOOKS = ROOT / "notebooks"
REGISTRY = Registry.load(ROOT / "config" / "experiments.yaml", SCHEMA)
REGISTRY.check(config)


def absolute(paths):
    return [str(Path(p).resolve()) for p in paths]


def papermill(notebook, parameters, threads):
    """Shell command executing ``notebook`` with ``parameters``; the rule appends its log path
    (``{log:q}``). Every path and the parameters are quoted (astrocore.config.quote)."""
    return papermill_command(sys.executable, NOTEBOOKS, notebook, parameters, threads)


def notebook_command(spec):
    """params.cmd of a generated rule: papermill on the rule's notebook with the job's parameters."""
    def command(wildcards, input, output, threads):
        inputs = {name: getattr(input, name) for name, _ in spec.reads}
        out = output[0] if spec.kind == "run" else None
        parameters = REGISTRY.job_parameters(spec, config, wildcards, inputs, out, absolute)
        return papermill(f"{spec.notebook}.ipynb", parameters, threads)
    return command


def notebook_inputs(spec):
    """The inputs of a generated rule: its notebook, the library modules the notebook imports, the
    files it reads (one named input per parameter) and the outputs of the hand-written rules it needs."""
    inputs = {"notebook": NOTEBOOKS / f"{spec.notebook}.ipynb", "library": spec.library(ROOT)}
    for name, _ in spec.reads:
        inputs[name] = lambda w, name=name: REGISTRY.read_files(spec, name, config, w)
    for other, where in spec.needs:
        inputs[other] = lambda w, other=other, where=where: (
            getattr(rules, other).output if all(w[k] == str(v) for k, v in where) else [])
    return inputs


def notebook_outputs(spec):
    """The outputs of a generated rule; a figure rule's PNG figures and CSV tables marked for the
    report (snakemake --report), with the caption of its notebook (rules/caption.rst)."""
    if spec.kind == "run":
        return spec.outputs
    return [report(path, caption="caption.rst", category=spec.experiment, subcategory=Path(path).stem,
                   labels={"figure": Path(path).stem, "file": Path(path).suffix[1:]})
            if path.endswith((".png", ".csv")) else path for path in spec.outputs]


def notebook_caption(spec):
    """A figure rule's caption for the report (rules/caption.rst): its notebook's question and verdict."""
    if spec.kind != "figure":
        return {}
    path = NOTEBOOKS / f"{spec.notebook}.ipynb"
    return {"caption": lambda wildcards, path=path: caption(path)}  # a function: braces in it are no wildcards
