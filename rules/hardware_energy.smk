"""Energy per inference and per training step, MGD and backprop under each hardware preset: an
estimate from named assumptions (astrocore.hardware.energy), computed and drawn by one notebook."""

HW_ENERGY = config["hardware_energy"]

FIGURES.update({"hardware_energy": figure_outputs("hardware_energy")})


rule hardware_energy:
    input:
        notebook=NOTEBOOKS / "hardware_energy.ipynb",
    output:
        FIGURES["hardware_energy"],
    log:
        "logs/hardware_energy.ipynb",
    threads: 1
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        cmd=lambda w, threads: papermill("hardware_energy.ipynb", {
            **HW_ENERGY, "fig_dir": absolute(["figures"])[0], "table_dir": absolute(["figures/tables"])[0]}, threads),
    shell:
        "{params.cmd} {log:q}"
