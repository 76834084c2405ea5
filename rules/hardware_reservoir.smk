"""Rhythmic Sharing on imperfect hardware: regime detection from (R, <Phi>) and Lorenz forecasts (VPT)
against weight/state bits and link phase noise (issue 5, the reservoir part)."""

HW_RESERVOIR = config["hardware_reservoir"]

HW_RESERVOIR_POINTS = expand("data/hardware_reservoir/bits-{bits}.nc", bits=HW_RESERVOIR["bits"])

FIGURES.update({"hardware_reservoir": figure_outputs("hardware_reservoir")})


rule hardware_reservoir_run:
    input:
        notebook=NOTEBOOKS / "hardware_reservoir_run.ipynb",
    output:
        "data/hardware_reservoir/bits-{bits}.nc",
    log:
        "logs/hardware_reservoir_run/bits-{bits}.ipynb",
    threads: 1
    resources:
        runtime=20,
        mem_mb=2000,
    params:
        cmd=lambda w, output, threads: papermill("hardware_reservoir_run.ipynb", {
            **{k: v for k, v in HW_RESERVOIR.items() if k != "bits"}, "bits": int(w.bits),
            "out": absolute(output)[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


rule hardware_reservoir_figure:
    input:
        points=HW_RESERVOIR_POINTS,
        notebook=NOTEBOOKS / "hardware_reservoir_figures.ipynb",
    output:
        FIGURES["hardware_reservoir"],
    log:
        "logs/hardware_reservoir_figure.ipynb",
    threads: 1
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        cmd=lambda w, input, threads: papermill("hardware_reservoir_figures.ipynb", {
            "inputs": absolute(input.points), **{k: HW_RESERVOIR[k] for k in ("warmup", "transition", "smooth_window")},
            "reference": config["reference"], "fig_dir": absolute(["figures"])[0],
            "table_dir": absolute(["figures/tables"])[0]}, threads),
    shell:
        "{params.cmd} {log:q}"
