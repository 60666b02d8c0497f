# ccmon developer entry points. `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash
VENV := .venv
CCMON := $(VENV)/bin/ccmon

.PHONY: help bootstrap run test test-quick lint format bench stack-up stack-down stack-status clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

bootstrap: ## Install system packages, the venv and the Kafka jars (idempotent)
	@bash scripts/bootstrap.sh

run: bootstrap ## The main job: stack + worker + simulator + wallboard; Ctrl-C stops all (ARGS=...)
	@$(CCMON) run $(ARGS)

test: bootstrap lint ## Lint, then every test tier against the real stack (started if needed)
	@$(VENV)/bin/pytest

test-quick: ## Unit and functional tiers only (no broker), for the edit loop
	@$(VENV)/bin/pytest -m "unit or functional"

lint: ## ruff (lint + format check) and mypy --strict
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy

format: ## Apply ruff's fixes and formatting
	@$(VENV)/bin/ruff check --fix .
	@$(VENV)/bin/ruff format .

bench: stack-up ## Benchmarks -> docs/performance.md (1M events: ~15 min here; ARGS="--events 200000": ~6 min)
	@$(VENV)/bin/pip install -q -e '.[bench]'
	@$(VENV)/bin/python -m bench $(ARGS)

stack-up: bootstrap ## Start Kafka, Prometheus, Alertmanager and create the topics
	@$(CCMON) stack up

stack-down: ## Stop the local stack
	@$(CCMON) stack down

stack-status: ## Show what runs where
	@$(CCMON) stack status

clean: stack-down ## Stop the stack and delete its data (keeps the jar cache)
	rm -rf ~/.cache/ccmon/run ~/.cache/ccmon/kafka-data ~/.cache/ccmon/prometheus-data \
	  ~/.cache/ccmon/alertmanager-data ~/.cache/ccmon/worker
