"""Opt-in speed benchmarks (not part of `all`: timings depend on the machine).

    snakemake --cores 2 benchmarks

writes figures/tables/bench_mgd.csv (batch 100), bench_mgd_batch1000.csv (the MGD
papers' batch of 1000) and bench_reservoir.csv; the README quotes them with the
machine they ran on. Each job takes every core, so no other job disturbs the timings.
"""


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
