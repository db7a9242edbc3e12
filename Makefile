# The two commands a newcomer needs: `make demo` and `make test`.
# Each creates .venv at the repo root when it is missing and installs the project into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint imports bench install clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/nrr demo

test: $(STAMP) imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The layers contract of pyproject.toml, checked on the package as installed (the folders
# flows/, tasks/, ... become nrr.flows, nrr.tasks, ... only there).
imports: $(STAMP)
	@rm -rf build/importlint
	$(BIN)/python -m pip install --quiet --no-deps --target build/importlint .
	cd build && PYTHONPATH=importlint ../$(BIN)/lint-imports --no-cache ../pyproject.toml

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_compute.py

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache

# The mutation check (docs/mutation.md): on demand, not part of `make test`. Installs the
# `mutation` extra once, then mutates the rule-bearing modules and the curated SQL mutants.
.PHONY: mutants
MUTATION_STAMP := $(VENV)/.mutation-installed

$(MUTATION_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,mutation]'
	@touch $(MUTATION_STAMP)

mutants: $(MUTATION_STAMP)
	$(BIN)/python mutation/run_mutants.py --jobs 2
