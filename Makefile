# Developer entry points. Every target that needs the virtualenv runs
# scripts/setup first; it is idempotent and takes a second or two when
# nothing changed.

VENV := .venv
BIN  := $(VENV)/bin

# Extra arguments for pytest, e.g. `make test PYTEST_ARGS='-k redeem -x'`.
PYTEST_ARGS ?=
# Port of the demo's central server: `make demo PORT=8010`.
PORT ?= 8000
# Tills of the demo: 1, or 2 (a shop's hub and two tills side by side in tmux): `make demo DEMO_TILLS=2`.
DEMO_TILLS ?= 1
# Language of the demo's stores and tills: en, fr, de or es: `make demo DEMO_LANG=de`.
DEMO_LANG ?=

.DEFAULT_GOAL := help
.PHONY: help setup demo test lint bench messages

help:
	@echo "Targets:"
	@echo "  make setup   install Debian packages and .venv (idempotent)"
	@echo "  make demo    run the whole system as a demo (head office, sync agent, till)"
	@echo "               DEMO_TILLS=2: a shop's hub and two tills side by side (tmux)"
	@echo "               DEMO_LANG=de: the stores and tills in fr, de or es"
	@echo "  make test    run the test suite (PostgreSQL tests required, 2 workers)"
	@echo "  make lint    import contracts, ruff lint and format, mypy"
	@echo "  make bench   run the benchmarks (python -m bench)"
	@echo "  make messages  extract the messages into words/locales (.pot, each language's .po)"

setup:
	@bash scripts/setup

demo: setup
	PORT=$(PORT) DEMO_TILLS=$(DEMO_TILLS) DEMO_LANG=$(DEMO_LANG) scripts/demo

test: export VOUCHER_TEST_POSTGRES = required
test: setup
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: setup
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: setup
	$(BIN)/python -m bench

messages: setup
	$(BIN)/python scripts/messages
