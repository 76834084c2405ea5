"""The per-rule profile of the workflow (astrocore.workflow.profile) from snakemake benchmark files and papermill logs."""

import json

import pytest
import yaml

from astrocore.workflow import profile
from astrocore.workflow.registry import REGISTRY_FILE, Registry


@pytest.fixture(scope="module")
def registry():
    schema = yaml.safe_load((REGISTRY_FILE.parent / "schema.yaml").read_text())
    return Registry.load(REGISTRY_FILE, schema)


def _notebook(path, seconds, cells=()):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"metadata": {"papermill": {"duration": seconds}},
                                "cells": [{"metadata": {"papermill": {"duration": c}}} for c in cells]}))


def test_jobs_are_matched_to_their_rules_and_summed(tmp_path, registry):
    logs = tmp_path / "logs"
    # a run job with a benchmark file (its wall time wins over papermill's), dotted wildcard values
    _notebook(logs / "mgd_sweep_run" / "tau_theta-10_eta-0.0003.ipynb", 999.0, cells=(0.5, 100.0, 7.5))
    (logs / "mgd_sweep_run" / "tau_theta-10_eta-0.0003.benchmark.tsv").write_text(
        "s\th:m:s\tmax_rss\n120.0\t0:02:00\t100\n")
    _notebook(logs / "mgd_sweep_run" / "tau_theta-100_eta-0.001.ipynb", 60.0)
    # two rules sharing one notebook's log folder, and a figure rule
    _notebook(logs / "rhythmic_systems_run" / "system-lorenz_train.ipynb", 30.0)
    _notebook(logs / "rhythmic_systems_run" / "system-lorenz_context-28.ipynb", 6.0)
    _notebook(logs / "mgd_sweep_figure.ipynb", 3.0)
    _notebook(logs / "not_a_rule.ipynb", 50.0)  # ignored
    jobs = profile.job_times(logs, registry)
    assert {j["job"]: (j["rule"], j["seconds"], j["source"]) for j in jobs} == {
        "logs/mgd_sweep_run/tau_theta-10_eta-0.0003": ("mgd_sweep_run", 120.0, "benchmark"),
        "logs/mgd_sweep_run/tau_theta-100_eta-0.001": ("mgd_sweep_run", 60.0, "papermill"),
        "logs/rhythmic_systems_run/system-lorenz_train": ("rhythmic_systems_train", 30.0, "papermill"),
        "logs/rhythmic_systems_run/system-lorenz_context-28": ("rhythmic_systems_context", 6.0, "papermill"),
        "logs/mgd_sweep_figure": ("mgd_sweep_figure", 3.0, "papermill"),
    }
    rows = profile.per_rule(jobs)
    # outside the cells: the benchmarked wall time less the cells' durations; unknown without a benchmark
    assert {j["job"]: j["outside_seconds"] for j in jobs if j["rule"] == "mgd_sweep_run"} == {
        "logs/mgd_sweep_run/tau_theta-10_eta-0.0003": 12.0, "logs/mgd_sweep_run/tau_theta-100_eta-0.001": None}
    assert rows[0] == {"rule": "mgd_sweep_run", "jobs": 2, "total_min": 3.0, "outside_min": 0.2, "longest_min": 2.0,
                       "sources": "benchmark+papermill"}
    assert [r["rule"] for r in rows] == ["mgd_sweep_run", "rhythmic_systems_train", "rhythmic_systems_context",
                                         "mgd_sweep_figure"]


def test_every_generated_rule_records_a_benchmark_beside_its_log(registry):
    for spec in registry.rules.values():
        assert spec.benchmark == spec.log.removesuffix(".ipynb") + ".benchmark.tsv"


def test_a_missing_log_folder_is_a_clear_error(tmp_path, capsys):
    assert profile.main(["--logs", str(tmp_path / "nowhere")]) == 2
    assert "--logs must be the workflow's log folder" in capsys.readouterr().err
