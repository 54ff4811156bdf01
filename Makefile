# Thin aliases; the work is in scripts/ and in the tools' own configuration.
# `make demo` and `make test` install whatever is missing first (Debian packages, .venv).

VENV := .venv
BIN := $(VENV)/bin
SOFTHSM_MODULE ?= $(firstword $(wildcard /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so))
DEMO_DIR := .demo

.PHONY: help setup demo test pytest lint format types docs clean

help:
	@echo "make demo    build a demo SoftHSM token with bank-like certificates and list it"
	@echo "make test    lint, type-check, build the docs (with doctests) and run the whole test suite"
	@echo "make pytest  only the tests;  make lint / types / docs / format / clean"

setup:
	@scripts/bootstrap.sh all

demo: setup
	@$(BIN)/python -m ukeytool.testing.demo $(DEMO_DIR)
	@SOFTHSM2_CONF=$(CURDIR)/$(DEMO_DIR)/softhsm2.conf $(BIN)/ukeytool list-tokens --module $(SOFTHSM_MODULE) $(ARGS)

test: setup lint types docs pytest

pytest: setup
	$(BIN)/pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

format: setup
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

types: setup
	$(BIN)/mypy

docs: setup
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html
	$(BIN)/sphinx-build -W --keep-going -q -b doctest docs docs/_build/doctest

clean:
	rm -rf $(VENV) $(DEMO_DIR) docs/_build build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
