PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.DEFAULT_GOAL := help

.PHONY: help install run test lint bench

help: ## List the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

install: $(VENV)/.installed ## Create .venv and install cropaug, its extras and test tools

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dask,cloud]'
	touch $@

run: install ## Expand sample_data/ into out/sample: 10 crops of 224x224 per image
	$(BIN)/cropaug expand sample_data out/sample --size 224 --n 10 --seed 0 --overwrite

test: install ## Run the test suite
	$(BIN)/python -m pytest

lint: install ## Check formatting and lint rules
	$(BIN)/ruff format --check cropaug tests bench
	$(BIN)/ruff check cropaug tests bench

bench: $(VENV)/.bench-installed ## Time cropaug against the JPEG floor and its peers (about 5 min on 2 cores)
	$(BIN)/python -m bench.run

$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test,dask,cloud,bench]'
	touch $@
