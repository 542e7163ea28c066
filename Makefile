# Staycurrent — one command per habit. Every target is idempotent.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# One stamp per install, named for the bytes of pyproject.toml + requirements.lock: an edit of
# either reinstalls. `make run` needs the runtime only; `make test` (and lint, typecheck, bench,
# docs) the development tools too, on top of the same venv.
INPUTS_SUM := $(shell cat pyproject.toml requirements.lock 2>/dev/null | cksum | cut -d' ' -f1)
RUNTIME_STAMP := $(VENV)/.runtime-$(INPUTS_SUM)
DEV_STAMP := $(VENV)/.dev-$(INPUTS_SUM)

.PHONY: runtime

$(RUNTIME_STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed: set PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@rm -f $(VENV)/.runtime-* $(VENV)/.installed-*
	@touch $(RUNTIME_STAMP)

$(DEV_STAMP): $(RUNTIME_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@rm -f $(VENV)/.dev-*
	@touch $(DEV_STAMP)

runtime: $(RUNTIME_STAMP)

venv: $(DEV_STAMP)

run: runtime
	$(BIN)/staycurrent db upgrade
	$(BIN)/staycurrent sources sync
	$(BIN)/staycurrent serve

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy service bench
	$(BIN)/lint-imports

# Independent tests run in parallel, one process per core (pytest-xdist); PYTEST_WORKERS=0 runs serially.
PYTEST_WORKERS ?= auto
pytest: venv
	$(BIN)/pytest -n $(PYTEST_WORKERS) --durations=20 $(PYTEST_ARGS)

test: lint typecheck pytest

bench: venv
	$(BIN)/python -m bench $(BENCH_ARGS)

SOAK_SECONDS ?= 600
soak: venv
	STAYCURRENT_SOAK_SECONDS=$(SOAK_SECONDS) $(BIN)/pytest -s tests/test_soak.py

# The README's settings table is generated from the Settings class.
docs: venv
	$(BIN)/staycurrent settings reference --write README.md

# requirements.lock: the exact runtime versions, resolved in a clean venv (the Docker image uses it),
# with the image's Python (3.11) so that environment markers resolve as they will in the image.
lock:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "make lock resolves for the image (python:3.11-slim): set PYTHON=python3.11")'
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet .
	.lock-venv/bin/python -m pip freeze --exclude staycurrent > requirements.lock
	rm -rf .lock-venv

# The image of docker-compose.yml (Docker is needed; `docker compose up -d --build` builds it too).
image:
	docker build -t staycurrent:latest .

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
