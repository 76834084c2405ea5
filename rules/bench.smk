"""Opt-in speed benchmarks (not part of `all`: timings depend on the machine).

    snakemake --cores 1 benchmarks

writes figures/tables/bench_mgd.csv and bench_reservoir.csv; the README quotes them
with the machine they ran on. One core-hungry job at a time, so the timings are not
disturbed by other jobs of the workflow.
"""


rule benchmarks:
    input:
        "figures/tables/bench_mgd.csv",
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
        "'{params.python}' -m astrocore.bench {wildcards.name} --out {output:q} > {log:q} 2>&1"
