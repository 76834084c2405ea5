"""MGD on simulated hardware: trained in the loop against backprop trained ideally and deployed.

Each point is one HardwareModel, spelled out here so that the run notebooks receive it
whole: the heatmap crosses weight bits with a proportional noise (``noise_kind``), the
effects vary one non-ideality at a time on float weights.
"""

HW_MGD = config["hardware_mgd"]
HW_MGD_SWEPT = ("weight_bits", "noise", "noise_kind", "effects", "weight_clip", "presets", "preset_amplitudes")
HW_MGD_EFFECTS = {effect: levels for effect, levels in HW_MGD["effects"].items() if levels}


def hw_grid_model(bits, noise):
    """The heatmap point: weight_bits levels over +-weight_clip, stochastic rounding of the
    in-loop writes, and the proportional noise of ``noise_kind`` at level ``noise``."""
    model = {"weight_bits": int(bits), "weight_clip": HW_MGD["weight_clip"], "stochastic_rounding": True}
    kinds = {"programming": ["programming_noise"], "read": ["read_noise"],
             "both": ["programming_noise", "read_noise"]}[HW_MGD["noise_kind"]]
    return {**model, **{kind: float(noise) for kind in kinds}}


def hw_effect_model(effect, level):
    """One non-ideality on float weights (activation_variation: offset, slope and gain alike)."""
    if effect == "activation_variation":
        return {name: float(level) for name in ("activation_offset", "activation_slope", "activation_gain")}
    return {effect: int(level) if effect.endswith("_bits") else float(level)}


HW_GRID = [dict(kind="grid", weight_bits=int(b), noise=float(n), file=f"bits-{b}_noise-{number(float(n))}",
                hardware=hw_grid_model(b, n)) for b in HW_MGD["weight_bits"] for n in HW_MGD["noise"]]
HW_EFFECTS = [dict(kind="effect", effect=e, level=float(v), file=f"effect-{e}_level-{number(v)}",
                   hardware=hw_effect_model(e, v)) for e, levels in HW_MGD_EFFECTS.items() for v in levels]


def hw_preset_model(name):
    """A named preset (astrocore.hardware.model_from) with the experiment's weight range and
    stochastic rounding of in-loop writes."""
    return {"preset": name, "weight_clip": HW_MGD["weight_clip"], "stochastic_rounding": True}


# presets: MGD in the loop at each perturbation amplitude (a device's converters and noise set
# the smallest cost change it can see); deployment does not depend on the amplitude
HW_PRESETS = [dict(kind="preset", preset=name, hardware=hw_preset_model(name)) for name in HW_MGD["presets"]]
HW_PRESET_RUNS = [dict(p, amplitude=float(a), file=f"preset-{p['preset']}_amplitude-{number(float(a))}")
                  for p in HW_PRESETS for a in HW_MGD["preset_amplitudes"]]
HW_IDEAL = [dict(kind="ideal", file="ideal", hardware={})]
HW_POINTS = {point["file"]: point for point in HW_IDEAL + HW_GRID + HW_EFFECTS + HW_PRESET_RUNS}
HW_DEPLOYED = HW_IDEAL + HW_GRID + HW_EFFECTS + HW_PRESETS
HW_MGD_RUNS = [f"data/hardware_mgd/{name}.nc" for name in HW_POINTS]

FIGURES.update({name: figure_outputs(name) for name in ("hardware_mgd", "hardware_mgd_effects")})
HW_MGD_PRESET_TABLE = multiext("figures/tables/hardware_mgd_presets", ".csv", ".md")


def hw_training_parameters():
    return {k: v for k, v in HW_MGD.items() if k not in HW_MGD_SWEPT}


rule hardware_mgd_run:
    input:
        notebook=NOTEBOOKS / "hardware_mgd_run.ipynb",
    output:
        "data/hardware_mgd/{point}.nc",
    log:
        "logs/hardware_mgd_run/{point}.ipynb",
    wildcard_constraints:
        point=one_of(HW_POINTS),  # the config's points only (each names its hardware model)
    threads: 1
    resources:
        runtime=60,
        mem_mb=3000,
    params:
        cmd=lambda w, output, threads: papermill("hardware_mgd_run.ipynb", {
            **hw_training_parameters(), "point": {k: v for k, v in HW_POINTS[w.point].items() if k != "file"},
            "out": absolute(output)[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


rule hardware_mgd_deploy:
    input:
        notebook=NOTEBOOKS / "hardware_mgd_deploy.ipynb",
    output:
        "data/hardware_mgd_deployed/backprop.nc",
    log:
        "logs/hardware_mgd_deploy.ipynb",
    threads: 1
    resources:
        runtime=30,
        mem_mb=3000,
    params:
        cmd=lambda w, output, threads: papermill("hardware_mgd_deploy.ipynb", {
            **hw_training_parameters(),
            "points": [{k: v for k, v in p.items() if k != "file"} for p in HW_DEPLOYED],
            "out": absolute(output)[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


rule hardware_mgd_figure:
    input:
        runs=HW_MGD_RUNS,
        deployed="data/hardware_mgd_deployed/backprop.nc",
        notebook=NOTEBOOKS / "hardware_mgd_figures.ipynb",
    output:
        FIGURES["hardware_mgd"],
        FIGURES["hardware_mgd_effects"],
        HW_MGD_PRESET_TABLE,
    log:
        "logs/hardware_mgd_figure.ipynb",
    threads: 1
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        cmd=lambda w, input, threads: papermill("hardware_mgd_figures.ipynb", {
            "runs": absolute(input.runs), "deployed": absolute([input.deployed])[0], "noise_kind": HW_MGD["noise_kind"],
            "fig_dir": absolute(["figures"])[0], "table_dir": absolute(["figures/tables"])[0]}, threads),
    shell:
        "{params.cmd} {log:q}"
