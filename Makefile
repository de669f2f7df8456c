# Two entry points for a fresh machine: `make demo` (main job) and `make test` (lint, then the suite).
# Each creates .venv and installs ser-zoo with its pinned torch trio when missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ser-zoo-installed

.PHONY: setup demo lint test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/ser-zoo demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/features.py
	$(PY) benchmarks/train_epoch.py

clean:
	rm -rf runs lightning_logs .pytest_cache
