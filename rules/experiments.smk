"""Every rule of the study, generated from the experiment registry (config/experiments.yaml):
one rule per run notebook (a job per sweep point) and one per figure notebook."""

for spec in REGISTRY.rules.values():

    rule:
        name: spec.name
        input: **notebook_inputs(spec),
        output: notebook_outputs(spec),
        log: spec.log,
        benchmark: spec.benchmark,
        wildcard_constraints: **REGISTRY.constraints(spec, config),
        threads: 1
        priority: REGISTRY.priority(spec)
        resources: **dict(spec.resources),
        params:
            cmd=notebook_command(spec),
            **notebook_caption(spec),
        shell:
            "{params.cmd} {log:q}"
