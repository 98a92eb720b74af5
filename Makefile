# Vivek: `make eval` and `make test` create the environment when it is missing.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON := 3.11
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 120

.PHONY: install eval test test-fast lint format bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml uv.lock .ci/setup-system
	./.ci/setup-system
	uv sync --frozen
	@touch $@

eval: install
	$(BIN)/vivek eval --models llamacpp:smollm2,reference:basic --suite basic

test: install
	$(BIN)/pytest -n 2 --dist worksteal --cov --cov-report=term

test-fast: install
	$(BIN)/pytest -m "not slow and not llm and not deployment" -x -q

lint: install
	$(BIN)/ruff check flows tasks tests bench
	$(BIN)/ruff format --check flows tasks tests bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff format flows tasks tests bench
	$(BIN)/ruff check --fix flows tasks tests bench

bench: install
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .coverage* htmlcov
