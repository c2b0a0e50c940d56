# voc-stream task runner. `make demo` and `make test` do all the set-up on a fresh machine.

PYTHON ?= $(shell for p in python3.11 python3.12 python3; do command -v $$p >/dev/null && { echo $$p; break; }; done)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
EXTRAS ?= dev,transformer,kafka

.PHONY: help install demo test test-fast lint format schema grafana clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if (3, 11) <= v[:2] < (3, 13) else "voc-stream needs Python 3.11 or 3.12 (Bytewax 0.21 has no wheels for " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[$(EXTRAS)]'
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)  ## create .venv and install voc-stream with its extras

demo: install  ## migrate an embedded ClickHouse under ./data and stream the simulator through the flow
	$(BIN)/voc demo

test: install  ## run the test suite (no network, no GPU, no ../shared needed)
	$(BIN)/pytest -q

test-fast: install  ## the test suite without slow tests
	$(BIN)/pytest -q -m 'not slow'

lint: install  ## ruff, formatting and mypy strict on nlp/, schemas/ and flows/
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schema: install  ## re-export schemas/message.schema.json from the typed model
	$(BIN)/voc schema --write

grafana: install  ## rebuild the Grafana dashboards JSON and alert rules under grafana/ from their Python code
	$(BIN)/python -m grafana.build

clean:  ## remove the virtual environment, caches and local data
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache .hypothesis
