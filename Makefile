# The two commands a clean clone needs: `make run` and `make test`.
# Everything they need is installed here, into .venv, from pyproject.toml.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint unit integration e2e browser browser-deps bench clean install install-dev chatbot-model

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Stamps re-run the install whenever pyproject.toml changes.
$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

# Browser tests drive Debian's chromium (never a browser download; tests run as root)
# and audit pages with axe-core from npm. Each is installed only when missing.
CHROMIUM := /usr/bin/chromium
AXE      := tests/browser/node_modules/axe-core/axe.min.js

$(CHROMIUM):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

$(AXE): tests/browser/package.json
	npm install --silent --no-package-lock --no-audit --no-fund --prefix tests/browser
	touch $@

browser-deps: $(CHROMIUM) $(AXE)

## make run: migrate, create the demo agency (printing its keys) and serve on :8000
run: install
	$(BIN)/warta migrate
	$(BIN)/warta demo
	$(BIN)/warta chatbot train --if-missing
	@echo "API: http://127.0.0.1:8000  docs: /docs  console: /console/  portal: /portal/  outbox: /dev/outbox"
	$(BIN)/warta serve

lint: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

## make test: lint, then the whole suite (unit, integration, e2e, browser)
# The suite runs in 4 processes, a file each at a time: its tests mostly wait on sockets,
# databases and subprocesses (one process keeps 2 cores about half busy). Schemathesis
# collects its operations in one process, so tests marked `serial` run afterwards.
test: lint browser-deps
	$(BIN)/pytest -q -n 4 --dist loadfile -m "not serial"
	$(BIN)/pytest -q -m serial

unit: install-dev
	$(BIN)/pytest -q tests/unit

integration: install-dev
	$(BIN)/pytest -q tests/integration

e2e: install-dev
	$(BIN)/pytest -q tests/e2e

browser: install-dev browser-deps
	$(BIN)/pytest -q tests/browser

# wrk (Debian) loads the API from C, so the accept figure is Warta's, not the load's.
WRK := /usr/bin/wrk

$(WRK):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null

bench: install-dev $(WRK)
	$(BIN)/python bench/api_accept.py
	$(BIN)/python bench/email_throughput.py
	$(BIN)/python bench/sms_throughput.py
	$(BIN)/python bench/broadcast_fanout.py
	$(BIN)/python bench/worker_scaling.py
	$(BIN)/python bench/chatbot_eval.py

## make chatbot-model: train the chatbot's intent model from its labelled data into var/chatbot
chatbot-model: install
	$(BIN)/warta chatbot train

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache tests/browser/node_modules
