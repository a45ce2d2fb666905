# chargeline — verbs used by people and by CI. `make help` lists them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: help demo serve test lint typecheck unit browser-deps bench clean

help:  ## list the verbs
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

demo: $(STAMP)  ## set up, then run ingest + flow + dashboard with a simulated fleet
	$(VENV)/bin/chargeline run --demo --data-dir demo-data

serve: $(STAMP)  ## set up, then run only the ingest server on ./data
	$(VENV)/bin/chargeline serve --data-dir data

lint: $(STAMP)  ## ruff
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)  ## mypy (strict on the core packages)
	$(VENV)/bin/mypy

unit: $(STAMP)  ## pytest only, on 2 workers (tests/conftest.py: how they share the cores)
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder

test: lint typecheck unit  ## everything CI runs: lint, types, tests

browser-deps:  ## Debian chromium for the end-to-end browser tests (needs root)
	command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)

bench: $(STAMP)  ## every benchmark, results in bench/results/
	$(PY) -m bench.run_all

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
