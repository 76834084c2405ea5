"""Smart perturbation directions (node, activity, astrocyte) against code-mode MGD: speed to
backprop accuracy, gradient quality, scaling with width, and the tripartite-synapse schematic."""

SMART = config["smart_perturbations"]
SMART_GRADIENT = config["smart_gradient"]
SMART_SCALING = config["smart_scaling"]
SMART_SWEPT = ("datasets", "directions", "sizes", "eta", "evaluations", "target_accuracy", "bp_margin")

SMART_POINTS = expand("data/smart_perturbations/dataset-{dataset}_direction-{direction}.nc",
                      dataset=SMART["datasets"], direction=SMART["directions"])
SMART_GRADIENT_POINTS = expand("data/smart_gradient/direction-{direction}.nc", direction=SMART_GRADIENT["directions"])
SMART_SCALING_POINTS = expand("data/smart_scaling/width-{width}_direction-{direction}.nc",
                              width=SMART_SCALING["widths"], direction=SMART_SCALING["directions"])

FIGURES.update({name: figure_outputs(name) for name in
                ("smart_perturbations", "smart_gradient_quality", "smart_scaling", "smart_schematic")})


def smart_figure_command(notebook, points, **extra):
    """papermill command of a figure notebook reading ``points``."""
    return lambda w, input, threads: papermill(notebook, {
        "inputs": absolute(input.points), **extra, "fig_dir": absolute(["figures"])[0],
        "table_dir": absolute(["figures/tables"])[0]}, threads)


# ------------------------------------------------------------------ speed against code-mode MGD
rule smart_run:
    input:
        notebook=NOTEBOOKS / "smart_run.ipynb",
    output:
        "data/smart_perturbations/dataset-{dataset}_direction-{direction}.nc",
    log:
        "logs/smart_run/dataset-{dataset}_direction-{direction}.ipynb",
    wildcard_constraints:
        direction=choices("properties", "smart_perturbations", "properties", "directions", "items"),
    threads: 1
    resources:
        runtime=30,
        mem_mb=3000,
    params:
        cmd=lambda w, output, threads: papermill("smart_run.ipynb", {
            **{k: v for k, v in SMART.items() if k not in SMART_SWEPT},
            "dataset": w.dataset, "direction": w.direction, "sizes": SMART["sizes"][w.dataset],
            "eta": SMART["eta"][w.dataset][w.direction],
            "evaluations": SMART["evaluations"][w.dataset][w.direction], "out": absolute(output)[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


rule smart_figure:
    input:
        points=SMART_POINTS,
        notebook=NOTEBOOKS / "smart_figures.ipynb",
    output:
        FIGURES["smart_perturbations"],
    log:
        "logs/smart_figure.ipynb",
    threads: 1
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        cmd=smart_figure_command("smart_figures.ipynb", SMART_POINTS, target_accuracy=SMART["target_accuracy"],
                                 bp_margin=SMART["bp_margin"]),
    shell:
        "{params.cmd} {log:q}"


# ------------------------------------------------------------------ gradient quality
rule smart_gradient_run:
    input:
        notebook=NOTEBOOKS / "smart_gradient_run.ipynb",
    output:
        "data/smart_gradient/direction-{direction}.nc",
    log:
        "logs/smart_gradient_run/direction-{direction}.ipynb",
    wildcard_constraints:
        direction=choices("properties", "smart_gradient", "properties", "directions", "items"),
    threads: 1
    resources:
        runtime=20,
        mem_mb=3000,
    params:
        cmd=lambda w, output, threads: papermill("smart_gradient_run.ipynb", {
            **{k: v for k, v in SMART_GRADIENT.items() if k != "directions"},
            "direction": w.direction, "out": absolute(output)[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


rule smart_gradient_figure:
    input:
        points=SMART_GRADIENT_POINTS,
        notebook=NOTEBOOKS / "smart_gradient_figures.ipynb",
    output:
        FIGURES["smart_gradient_quality"],
    log:
        "logs/smart_gradient_figure.ipynb",
    threads: 1
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        cmd=smart_figure_command("smart_gradient_figures.ipynb", SMART_GRADIENT_POINTS),
    shell:
        "{params.cmd} {log:q}"


# ------------------------------------------------------------------ scaling with width
rule smart_scaling_run:
    input:
        notebook=NOTEBOOKS / "smart_scaling_run.ipynb",
    output:
        "data/smart_scaling/width-{width}_direction-{direction}.nc",
    log:
        "logs/smart_scaling_run/width-{width}_direction-{direction}.ipynb",
    wildcard_constraints:
        direction=choices("properties", "smart_scaling", "properties", "directions", "items"),
    threads: 1
    resources:
        runtime=30,
        mem_mb=4000,
    params:
        cmd=lambda w, output, threads: papermill("smart_scaling_run.ipynb", {
            **{k: v for k, v in SMART_SCALING.items() if k not in ("widths", "directions")},
            "width": int(w.width), "direction": w.direction, "out": absolute(output)[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


rule smart_scaling_figure:
    input:
        points=SMART_SCALING_POINTS,
        notebook=NOTEBOOKS / "smart_scaling_figures.ipynb",
    output:
        FIGURES["smart_scaling"],
    log:
        "logs/smart_scaling_figure.ipynb",
    threads: 1
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        cmd=smart_figure_command("smart_scaling_figures.ipynb", SMART_SCALING_POINTS),
    shell:
        "{params.cmd} {log:q}"


# ------------------------------------------------------------------ schematic (seed figure 1)
rule smart_schematic:
    input:
        notebook=NOTEBOOKS / "smart_schematic.ipynb",
    output:
        FIGURES["smart_schematic"],
    log:
        "logs/smart_schematic.ipynb",
    threads: 1
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        cmd=lambda w, threads: papermill("smart_schematic.ipynb", {
            "fig_dir": absolute(["figures"])[0], "table_dir": absolute(["figures/tables"])[0]}, threads),
    shell:
        "{params.cmd} {log:q}"
