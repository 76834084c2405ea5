"""Rhythmic Sharing (Kang & Losert): regime detection by link synchrony, the network drawn from a run,
one readout for several regimes, zero-shot adaptation against ESN baselines."""

REGIMES = config["rhythmic_regimes"]
REGIME_SCORING = ("warmup", "transition", "std_window", "norm_window", "smooth_window", "persist")

REGIME_POINTS = expand("data/rhythmic_regimes/case-{case}.nc", case=REGIMES["cases"])


SYSTEMS = config["rhythmic_systems"]
SYSTEM_COMMON = ("n_ics", "n_val_ics", "ic_stride", "warmup_steps", "horizon", "rtol")
ADAPT = config["rhythmic_adaptation"]


def system_files(system):
    """The training series and every test context's windows of ``system``."""
    return [f"data/rhythmic_systems/system-{system}_train.nc"] + [
        f"data/rhythmic_systems/system-{system}_context-{number(float(c))}.nc" for c in SYSTEMS[system]["test_contexts"]]


ADAPT_POINTS = expand("data/rhythmic_adaptation/system-{system}_model-{model}.nc",
                      system=SYSTEMS["systems"], model=ADAPT["models"])
MULTI_POINTS = expand("data/rhythmic_adaptation/system-{system}_model-{model}.nc",
                      system=SYSTEMS["systems"], model=[m for m in ADAPT["models"] if m in ("rhythmic_sharing", "esn")])

INFERENCE = config["rhythmic_inference"]
INFERENCE_POINTS = expand("data/rhythmic_inference/system-{system}.nc", system=INFERENCE["systems"])

FIGURES.update({name: figure_outputs(name) for name in
                ("regime_detection", "rhythmic_schematic", "rhythmic_multiregime", "reservoir_adaptation",
                 "rhythmic_inference")})
FIGURES["reservoir_adaptation"] += multiext("figures/tables/reservoir_adaptation_variants", ".csv", ".md")
FIGURES["rhythmic_inference"] += multiext("figures/tables/rhythmic_inference_features", ".csv", ".md")


# ------------------------------------------------------------------ regimes: link synchrony against baselines
rule rhythmic_regimes_run:
    input:
        notebook=NOTEBOOKS / "rhythmic_regimes_run.ipynb",
    output:
        "data/rhythmic_regimes/case-{case}.nc",
    log:
        "logs/rhythmic_regimes_run/case-{case}.ipynb",
    threads: 1
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        cmd=lambda w, output, threads: papermill("rhythmic_regimes_run.ipynb", {
            **{k: v for k, v in REGIMES.items() if k != "cases" and k not in REGIME_SCORING},
            "case": w.case, "out": absolute(output)[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


rule rhythmic_regimes_figure:
    input:
        points=REGIME_POINTS,
        notebook=NOTEBOOKS / "rhythmic_regimes_figures.ipynb",
    output:
        FIGURES["regime_detection"],
    log:
        "logs/rhythmic_regimes_figure.ipynb",
    threads: 1
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        cmd=lambda w, input, threads: papermill("rhythmic_regimes_figures.ipynb", {
            "inputs": absolute(input.points), **{k: REGIMES[k] for k in REGIME_SCORING},
            "reference": config["reference"], "fig_dir": absolute(["figures"])[0],
            "table_dir": absolute(["figures/tables"])[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


rule rhythmic_schematic_figure:
    input:
        points="data/rhythmic_regimes/case-authors.nc",
        notebook=NOTEBOOKS / "rhythmic_schematic_figures.ipynb",
    output:
        FIGURES["rhythmic_schematic"],
    log:
        "logs/rhythmic_schematic_figure.ipynb",
    threads: 1
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        cmd=lambda w, input, threads: papermill("rhythmic_schematic_figures.ipynb", {
            "inputs": absolute([input.points]), "warmup": REGIMES["warmup"], "reference": config["reference"],
            "fig_dir": absolute(["figures"])[0],
            "table_dir": absolute(["figures/tables"])[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


# ------------------------------------------------------------------ benchmark data shared by every reservoir model
rule rhythmic_systems_train:
    input:
        notebook=NOTEBOOKS / "rhythmic_systems_run.ipynb",
    output:
        "data/rhythmic_systems/system-{system}_train.nc",
    log:
        "logs/rhythmic_systems_run/system-{system}_train.ipynb",
    threads: 1
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        cmd=lambda w, output, threads: papermill("rhythmic_systems_run.ipynb", {
            **{k: SYSTEMS[k] for k in SYSTEM_COMMON}, "system": w.system, "context": None,
            "spec": SYSTEMS[w.system], "out": absolute(output)[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


rule rhythmic_systems_context:
    input:
        notebook=NOTEBOOKS / "rhythmic_systems_run.ipynb",
    output:
        "data/rhythmic_systems/system-{system}_context-{context}.nc",
    log:
        "logs/rhythmic_systems_run/system-{system}_context-{context}.ipynb",
    threads: 1
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        cmd=lambda w, output, threads: papermill("rhythmic_systems_run.ipynb", {
            **{k: SYSTEMS[k] for k in SYSTEM_COMMON}, "system": w.system, "context": float(w.context),
            "spec": SYSTEMS[w.system], "out": absolute(output)[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


# ------------------------------------------------------------------ one readout, several regimes; zero-shot adaptation
rule rhythmic_adaptation_run:
    input:
        data=lambda w: system_files(w.system),
        notebook=NOTEBOOKS / "rhythmic_adaptation_run.ipynb",
    output:
        "data/rhythmic_adaptation/system-{system}_model-{model}.nc",
    log:
        "logs/rhythmic_adaptation_run/system-{system}_model-{model}.ipynb",
    threads: 1
    resources:
        runtime=30,
        mem_mb=4000,
    params:
        cmd=lambda w, input, output, threads: papermill("rhythmic_adaptation_run.ipynb", {
            **{k: v for k, v in ADAPT.items() if k != "models"}, "system": w.system, "model": w.model,
            "inputs": absolute(input.data), "out": absolute(output)[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


rule rhythmic_multiregime_figure:
    input:
        points=MULTI_POINTS,
        notebook=NOTEBOOKS / "rhythmic_multiregime_figures.ipynb",
    output:
        FIGURES["rhythmic_multiregime"],
    log:
        "logs/rhythmic_multiregime_figure.ipynb",
    threads: 1
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        cmd=lambda w, input, threads: papermill("rhythmic_multiregime_figures.ipynb", {
            "inputs": absolute(input.points), "reference": config["reference"], "fig_dir": absolute(["figures"])[0],
            "table_dir": absolute(["figures/tables"])[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


rule rhythmic_adaptation_figure:
    input:
        points=ADAPT_POINTS,
        notebook=NOTEBOOKS / "rhythmic_adaptation_figures.ipynb",
    output:
        FIGURES["reservoir_adaptation"],
    log:
        "logs/rhythmic_adaptation_figure.ipynb",
    threads: 1
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        cmd=lambda w, input, threads: papermill("rhythmic_adaptation_figures.ipynb", {
            "inputs": absolute(input.points), "reference": config["reference"], "fig_dir": absolute(["figures"])[0],
            "table_dir": absolute(["figures/tables"])[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


# ------------------------------------------------------------------ unsupervised parameter inference from (R, <Phi>)
rule rhythmic_inference_run:
    input:
        notebook=NOTEBOOKS / "rhythmic_inference_run.ipynb",
    output:
        "data/rhythmic_inference/system-{system}.nc",
    log:
        "logs/rhythmic_inference_run/system-{system}.ipynb",
    threads: 1
    resources:
        runtime=20,
        mem_mb=4000,
    params:
        cmd=lambda w, output, threads: papermill("rhythmic_inference_run.ipynb", {
            **INFERENCE[w.system], "seeds": INFERENCE["seeds"], "rtol": INFERENCE["rtol"], "system": w.system,
            "out": absolute(output)[0]}, threads),
    shell:
        "{params.cmd} {log:q}"


rule rhythmic_inference_figure:
    input:
        points=INFERENCE_POINTS,
        notebook=NOTEBOOKS / "rhythmic_inference_figures.ipynb",
    output:
        FIGURES["rhythmic_inference"],
    log:
        "logs/rhythmic_inference_figure.ipynb",
    threads: 1
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        cmd=lambda w, input, threads: papermill("rhythmic_inference_figures.ipynb", {
            "inputs": absolute(input.points), "reference": config["reference"], "fig_dir": absolute(["figures"])[0],
            "table_dir": absolute(["figures/tables"])[0]}, threads),
    shell:
        "{params.cmd} {log:q}"
