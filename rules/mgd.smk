"""Multiplexed Gradient Descent: parity, gradient quality, MGD against backprop, sweeps."""

PARITY = config["mgd_parity"]
GRADIENT = config["mgd_gradient"]
VERSUS = config["mgd_vs_backprop"]
SWEEP = config["mgd_sweep"]

PARITY_POINTS = expand("data/mgd_parity/bits-{bits}_mode-{mode}.nc", bits=PARITY["bits"], mode=PARITY["modes"])
GRADIENT_POINTS = expand("data/mgd_gradient/mode-{mode}.nc", mode=GRADIENT["modes"])
VERSUS_POINTS = expand("data/mgd_vs_backprop/dataset-{dataset}_method-{method}.nc",
                       dataset=VERSUS["datasets"], method=VERSUS["methods"])
SWEEP_POINTS = expand("data/mgd_sweep/tau_theta-{tau_theta}_eta-{eta}.nc",
                      tau_theta=SWEEP["tau_theta"], eta=[number(e) for e in SWEEP["eta"]])


FIGURES.update({name: figure_outputs(name) for name in
                ("mgd_parity", "mgd_gradient_quality", "mgd_vs_backprop", "mgd_sweep")})


# ------------------------------------------------------------------ MGD: parity
rule mgd_parity_run:
    input:
        notebook=NOTEBOOKS / "mgd_parity_run.ipynb",
    output:
        "data/mgd_parity/bits-{bits}_mode-{mode}.nc",
    log:
        "logs/mgd_parity_run/bits-{bits}_mode-{mode}.ipynb",
    threads: 1
    resources:
        runtime=30,
        mem_mb=2000,
    params:
        cmd=lambda w, output, threads: papermill("mgd_parity_run.ipynb", {
            **{k: v for k, v in PARITY.items() if k not in ("bits", "modes")},
            "bits": int(w.bits), "mode": w.mode, "out": absolute(output)[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


rule mgd_parity_figure:
    input:
        points=PARITY_POINTS,
        notebook=NOTEBOOKS / "mgd_parity_figures.ipynb",
    output:
        FIGURES["mgd_parity"],
    log:
        "logs/mgd_parity_figure.ipynb",
    threads: 1
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        cmd=lambda w, input, threads: papermill("mgd_parity_figures.ipynb", {
            "inputs": absolute(input.points), "fig_dir": absolute(["figures"])[0],
            "table_dir": absolute(["figures/tables"])[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


# ------------------------------------------------------------------ MGD: gradient quality
rule mgd_gradient_run:
    input:
        notebook=NOTEBOOKS / "mgd_gradient_run.ipynb",
    output:
        "data/mgd_gradient/mode-{mode}.nc",
    log:
        "logs/mgd_gradient_run/mode-{mode}.ipynb",
    threads: 1
    resources:
        runtime=30,
        mem_mb=4000,
    params:
        cmd=lambda w, output, threads: papermill("mgd_gradient_run.ipynb", {
            **{k: v for k, v in GRADIENT.items() if k != "modes"},
            "mode": w.mode, "out": absolute(output)[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


rule mgd_gradient_figure:
    input:
        points=GRADIENT_POINTS,
        notebook=NOTEBOOKS / "mgd_gradient_figures.ipynb",
    output:
        FIGURES["mgd_gradient_quality"],
    log:
        "logs/mgd_gradient_figure.ipynb",
    threads: 1
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        cmd=lambda w, input, threads: papermill("mgd_gradient_figures.ipynb", {
            "inputs": absolute(input.points), "fig_dir": absolute(["figures"])[0],
            "table_dir": absolute(["figures/tables"])[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


# ------------------------------------------------------------------ MGD against backprop
def raw_inputs(wildcards):
    """Fashion-MNIST runs need the downloaded files (opt-in rule fashion_mnist)."""
    return rules.fashion_mnist.output if wildcards.dataset == "fashion_mnist" else []


rule mgd_vs_backprop_run:
    input:
        raw=raw_inputs,
        notebook=NOTEBOOKS / "mgd_vs_backprop_run.ipynb",
    output:
        "data/mgd_vs_backprop/dataset-{dataset}_method-{method}.nc",
    log:
        "logs/mgd_vs_backprop_run/dataset-{dataset}_method-{method}.ipynb",
    threads: 1
    resources:
        runtime=60,
        mem_mb=4000,
    params:
        cmd=lambda w, output, threads: papermill("mgd_vs_backprop_run.ipynb", {
            **{k: v for k, v in VERSUS.items() if k not in ("datasets", "methods", "sizes")},
            "dataset": w.dataset, "method": w.method, "sizes": VERSUS["sizes"][w.dataset],
            "raw_dir": absolute(["data/raw"])[0], "out": absolute(output)[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


rule mgd_vs_backprop_figure:
    input:
        points=VERSUS_POINTS,
        notebook=NOTEBOOKS / "mgd_vs_backprop_figures.ipynb",
    output:
        FIGURES["mgd_vs_backprop"],
    log:
        "logs/mgd_vs_backprop_figure.ipynb",
    threads: 1
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        cmd=lambda w, input, threads: papermill("mgd_vs_backprop_figures.ipynb", {
            "inputs": absolute(input.points), "fig_dir": absolute(["figures"])[0],
            "table_dir": absolute(["figures/tables"])[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


# ------------------------------------------------------------------ MGD sweeps
rule mgd_sweep_run:
    input:
        notebook=NOTEBOOKS / "mgd_sweep_run.ipynb",
    output:
        "data/mgd_sweep/tau_theta-{tau_theta}_eta-{eta}.nc",
    log:
        "logs/mgd_sweep_run/tau_theta-{tau_theta}_eta-{eta}.ipynb",
    threads: 1
    resources:
        runtime=30,
        mem_mb=2000,
    params:
        cmd=lambda w, output, threads: papermill("mgd_sweep_run.ipynb", {
            **{k: v for k, v in SWEEP.items() if k not in ("tau_theta", "eta", "target_accuracy")},
            "tau_theta": int(w.tau_theta), "eta": float(w.eta), "out": absolute(output)[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


rule mgd_sweep_figure:
    input:
        points=SWEEP_POINTS,
        notebook=NOTEBOOKS / "mgd_sweep_figures.ipynb",
    output:
        FIGURES["mgd_sweep"],
    log:
        "logs/mgd_sweep_figure.ipynb",
    threads: 1
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        cmd=lambda w, input, threads: papermill("mgd_sweep_figures.ipynb", {
            "inputs": absolute(input.points), "target_accuracy": SWEEP["target_accuracy"],
            "fig_dir": absolute(["figures"])[0], "table_dir": absolute(["figures/tables"])[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


# ------------------------------------------------------------------ opt-in: Fashion-MNIST
rule fashion:
    """Opt-in target: MGD against backprop on Fashion-MNIST (downloads the data once)."""
    input:
        expand("data/mgd_vs_backprop/dataset-fashion_mnist_method-{method}.nc", method=VERSUS["methods"]),



rule fashion_mnist:
    """Opt-in (not part of `all`): download Fashion-MNIST into data/raw with SHA-256 checks."""
    output:
        expand("data/raw/{name}", name=["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]),
    log:
        "logs/fashion_mnist.log",
    threads: 1
    resources:
        runtime=20,
        mem_mb=2000,
    params:
        python=sys.executable,
    shell:
        "{params.python:q} -c 'from astrocore import datasets; datasets.fashion_mnist(\"data/raw\", download=True)' > {log:q} 2>&1"
