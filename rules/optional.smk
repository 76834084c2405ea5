"""Opt-in targets, not part of `all`: MGD against backprop on Fashion-MNIST, and the speed benchmarks.

    snakemake --cores 2 fashion      # downloads Fashion-MNIST once (data/raw, SHA-256 checked)
    snakemake --cores 2 benchmarks   # timings depend on the machine

The benchmarks write figures/tables/bench_mgd.csv (batch 100), bench_mgd_batch1000.csv (the MGD
papers' batch of 1000) and bench_reservoir.csv; the README quotes them with the machine they ran on.
Each benchmark job takes every core, so no other job disturbs the timings.
"""


rule fashion:
    """MGD against backprop on Fashion-MNIST: the registry's points of mgd_vs_backprop_run, for that dataset."""
    input:
        REGISTRY.rules["mgd_vs_backprop_run"].files(config, dataset=["fashion_mnist"]),


rule fashion_mnist:
    """Download Fashion-MNIST into data/raw with SHA-256 checks (needed by mgd_vs_backprop_run, config/experiments.yaml)."""
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


rule benchmarks:
    input:
        "figures/tables/bench_mgd.csv",
        "figures/tables/bench_mgd_batch1000.csv",
        "figures/tables/bench_reservoir.csv",


rule bench:
    output:
        "figures/tables/bench_{name}.csv",
    log:
        "logs/bench_{name}.log",
    wildcard_constraints:
        name="mgd|reservoir",
    threads: workflow.cores
    resources:
        runtime=30,
        mem_mb=4000,
    params:
        python=sys.executable,
    shell:
        "{params.python:q} -m astrocore.bench {wildcards.name:q} --out {output:q} > {log:q} 2>&1"


rule bench_mgd_batch:
    output:
        "figures/tables/bench_mgd_batch{batch}.csv",
    log:
        "logs/bench_mgd_batch{batch}.log",
    wildcard_constraints:
        batch="[1-9][0-9]{0,6}",  # a batch size, nothing else reaches the shell
    threads: workflow.cores
    resources:
        runtime=30,
        mem_mb=8000,
    params:
        python=sys.executable,
    shell:
        "{params.python:q} -m astrocore.bench mgd --batch {wildcards.batch:q} --out {output:q} > {log:q} 2>&1"
