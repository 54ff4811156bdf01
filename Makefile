# Thin aliases; the work is in scripts/ and in the tools' own configuration.
# `make demo` and `make test` install whatever is missing first (Debian packages, .venv,
# .venv-3.10 and .venv-3.13).

VENV := .venv
BIN := $(VENV)/bin
SOFTHSM_MODULE ?= $(firstword $(wildcard /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so))
DEMO_DIR := .demo

# The oldest and the newest supported Python: `make test` runs the whole suite on each, in
# .venv-X.Y (made by `scripts/bootstrap.sh pythons`); tox runs the versions between.
TEST_PYTHONS := 3.10 3.13

.PHONY: help setup demo test pytest pytest-pythons lint format types docs bench clean

help:
	@echo "make demo    build a demo SoftHSM token with bank-like certificates and list it"
	@echo "make test    lint, type-check, build the docs (with doctests) and run the whole test suite"
	@echo "             on Python $(firstword $(TEST_PYTHONS)) and $(lastword $(TEST_PYTHONS))"
	@echo "make pytest  only the tests, once, in .venv;  make lint / types / docs / format / clean"
	@echo "make bench   ukeytool against pkcs11-tool and p11tool on SoftHSM tokens of 10 to 5000"
	@echo "             certificates (docs/performance.md; BENCH_ARGS=\"--quick --repeat 3 --markdown\")"

setup:
	@TEST_PYTHONS="$(TEST_PYTHONS)" scripts/bootstrap.sh all

# The listing ends with the command that makes it, as it works when pasted into a shell.
demo: setup
	@$(BIN)/python -m ukeytool.testing.demo $(DEMO_DIR)
	@SOFTHSM2_CONF=$(CURDIR)/$(DEMO_DIR)/softhsm2.conf $(BIN)/ukeytool list-tokens --module $(SOFTHSM_MODULE) $(ARGS); \
	  status=$$?; \
	  echo; \
	  echo "Run ukeytool yourself (or '. $(BIN)/activate' once, then plain 'ukeytool'):"; \
	  echo "SOFTHSM2_CONF=$(CURDIR)/$(DEMO_DIR)/softhsm2.conf $(BIN)/ukeytool list-tokens --module $(SOFTHSM_MODULE)"; \
	  exit $$status

test: setup lint types docs pytest-pythons

pytest: setup
	$(BIN)/pytest $(PYTEST_ARGS)

# bootstrap.sh has already failed under CI when one of them is missing.
pytest-pythons: setup
	@for version in $(TEST_PYTHONS); do \
	  if [ -x .venv-$$version/bin/pytest ]; then \
	    echo "== the test suite on Python $$version"; \
	    .venv-$$version/bin/pytest $(PYTEST_ARGS) || exit 1; \
	  else \
	    echo "warning: no .venv-$$version (Python $$version not found): the suite did not run on it" >&2; \
	  fi; \
	done

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: setup
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

types: setup
	$(BIN)/mypy

docs: setup
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html
	$(BIN)/sphinx-build -W --keep-going -q -b doctest docs docs/_build/doctest

# Tokens and the shim are kept in build/bench between runs; the repetitions are
# BENCH_ARGS="--repeat N" or $$UKEYTOOL_BENCH_REPEAT (default 5).
bench: setup
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(addprefix .venv-,$(TEST_PYTHONS)) $(DEMO_DIR) docs/_build build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
