# Self-installing entry points. `make figures` and `make test` create .venv
# (Python 3.11.5+, no conda needed), install the exact versions of
# requirements-lock.txt (with hashes) and astrocore itself, then run the
# workflow or the tests. `make lock` refreshes the lock from pyproject's ranges.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := requirements-lock.txt
STAMP  := $(VENV)/.installed
CONFIG ?= config/default.yaml
CORES  ?= all
TARGETS ?=

# The reservoir experiments: chaotic runs, checked against reference tables (astrocore.reference).
RESERVOIR_FIGURES   := regime_detection rhythmic_schematic rhythmic_multiregime reservoir_adaptation \
                       rhythmic_inference hardware_reservoir integration_online integration_phase_control
RESERVOIR_NOTEBOOKS := $(sort $(wildcard notebooks/rhythmic_*.ipynb notebooks/hardware_reservoir_*.ipynb \
                                         notebooks/integration_*.ipynb))

.PHONY: install figures check-figures quick notebooks test test-second-path lock lab bench gpu-check mnist1d-long clean

install: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11, 5) else "astrocore needs Python 3.11.5 or newer; set PYTHON=python3.x")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

## Regenerate every figure and table (config/default.yaml) into figures/; with the default config,
## then check the reservoir tables against the committed study (tests/references/default/).
## First the config is checked (file, line and key of every error); a lock left by an interrupted
## run (kill -9, power cut) is removed when no snakemake process works in this directory, and the
## profile reruns incomplete jobs, so after an interruption the same command resumes the run.
## TARGETS: snakemake targets to make instead of all (e.g. TARGETS=figures/mgd_parity.png).
figures: $(STAMP)
	$(BIN)/python -m astrocore.config check $(CONFIG)
	$(BIN)/python -m astrocore.config unlock-stale --configfile $(CONFIG)
	$(BIN)/snakemake $(TARGETS) --workflow-profile profiles/default --cores $(CORES) --configfile $(CONFIG)
	@if [ "$(CONFIG)" = "config/default.yaml" ] && [ -z "$(TARGETS)" ]; then $(MAKE) --no-print-directory check-figures; fi

## Compare figures/tables with the committed default-profile references, one tolerance per value.
check-figures: $(STAMP)
	$(BIN)/python -m astrocore.reference check figures/tables --profile default

## The CI-sized workflow (config/quick.yaml) into this checkout.
quick:
	$(MAKE) figures CONFIG=config/quick.yaml

## Re-execute every committed notebook in place at the quick profile (after changing a notebook or what
## it prints): the quick workflow into .quick/, then each notebook against that data, as nbval will.
notebooks: $(STAMP)
	$(BIN)/snakemake --snakefile Snakefile --directory .quick --configfile config/quick.yaml --cores $(CORES)
	for nb in notebooks/*.ipynb; do \
	    ASTROCORE_WORKDIR="$(CURDIR)/.quick" ASTROCORE_PROGRESS=0 $(BIN)/jupyter nbconvert --to notebook --execute \
	        --inplace --ExecutePreprocessor.timeout=1800 "$$nb" || exit 1; \
	done

## Unit, property, notebook (nbval) and workflow tests; then the reservoir experiments again on a
## second numeric path (numpy's SIMD kernels switched off), against the same reference tables.
test: $(STAMP)
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory test-second-path

test-second-path: $(STAMP)
	ASTROCORE_QUICK_TARGETS="$(RESERVOIR_FIGURES:%=figures/%.png)" $(BIN)/python -m astrocore.numeric_path -- \
	    $(BIN)/python -m pytest \
	    "tests/test_workflow.py::test_quick_tables_hold_their_reference_and_a_moved_reference_fails" \
	    $(RESERVOIR_NOTEBOOKS)

## Refresh requirements-lock.txt: the newest versions pyproject's ranges allow today, for every platform.
lock:
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet uv
	.lock-venv/bin/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11.5 \
	    --generate-hashes --no-emit-package astrocore -o $(LOCK) \
	    --custom-compile-command "make lock   (uv pip compile pyproject.toml --extra dev --universal --python-version 3.11.5 --generate-hashes)"
	rm -rf .lock-venv

## JupyterLab with the project's kernel.
lab: $(STAMP)
	$(BIN)/python -m ipykernel install --sys-prefix --name astrocore --display-name "Python (astrocore)"
	$(BIN)/jupyter lab notebooks/

## Speed benchmarks (they print measured numbers; they do not assert).
bench: $(STAMP)
	$(BIN)/python -m astrocore.bench mgd

## Opt-in: MGD on MNIST-1D to 10^7 cost evaluations against backprop (config/mnist1d_long.yaml), in
## runs/mnist1d_long/, its figure and table copied to figures/mgd_vs_backprop_mnist1d_long.png and
## figures/tables/mgd_vs_backprop_mnist1d_long.{csv,md}; about 25 minutes on one core.
mnist1d-long: $(STAMP)
	$(BIN)/python -m astrocore.config check config/mnist1d_long.yaml
	$(BIN)/snakemake --snakefile "$(CURDIR)/Snakefile" --directory runs/mnist1d_long \
	    --workflow-profile profiles/default --cores $(CORES) \
	    --configfile config/default.yaml config/mnist1d_long.yaml -- mgd_vs_backprop_figure
	cp runs/mnist1d_long/figures/mgd_vs_backprop.png figures/mgd_vs_backprop_mnist1d_long.png
	for ext in csv md; do cp runs/mnist1d_long/figures/tables/mgd_vs_backprop.$$ext \
	    figures/tables/mgd_vs_backprop_mnist1d_long.$$ext; done

## On a machine with an NVIDIA GPU: install the gpu extra (CuPy), run the CuPy-path tests and the batched
## NumPy-vs-CuPy benchmarks (python -m astrocore.bench gpu; under 5 minutes).
gpu-check: $(STAMP)
	$(BIN)/python -m pip install --quiet 'cupy-cuda12x>=13'   # the gpu extra of pyproject.toml
	$(BIN)/python -m astrocore.bench gpu --out figures/tables/bench_gpu.csv

clean:
	rm -rf .snakemake logs data/mgd_* data/rhythmic_* data/hardware_* .pytest_cache
