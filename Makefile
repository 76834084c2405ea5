# Self-installing entry points. `make figures` and `make test` create .venv
# (Python 3.11+, no conda needed), install astrocore with its pinned ranges,
# then run the workflow or the tests.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?= config/default.yaml
CORES  ?= all

.PHONY: install figures quick test lab bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "astrocore needs Python 3.11 or newer; set PYTHON=python3.x")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

## Regenerate every figure and table (config/default.yaml) into figures/.
figures: $(STAMP)
	$(BIN)/snakemake --workflow-profile profiles/default --cores $(CORES) --configfile $(CONFIG)

## The CI-sized workflow (config/quick.yaml) into this checkout.
quick:
	$(MAKE) figures CONFIG=config/quick.yaml

## Unit, property, notebook (nbval) and workflow tests.
test: $(STAMP)
	$(BIN)/python -m pytest

## JupyterLab with the project's kernel.
lab: $(STAMP)
	$(BIN)/python -m ipykernel install --sys-prefix --name astrocore --display-name "Python (astrocore)"
	$(BIN)/jupyter lab notebooks/

## Speed benchmarks (they print measured numbers; they do not assert).
bench: $(STAMP)
	$(BIN)/python -m astrocore.bench mgd

clean:
	rm -rf .snakemake logs data/mgd_* data/rhythmic_* .pytest_cache
