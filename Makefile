# bc-connector: `make run` and `make test` on a machine with Python 3.11, Node 20 and make.
# Installs are idempotent: pip and npm run again only when their requirement files change (stamp files).

PYTHON3 ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
PIP_STAMP := $(VENV)/.requirements.stamp
NPM_STAMP := node_modules/.package-lock.stamp
# checkov (tests/infra) pins packaging<24 and pytest needs packaging>=24: it gets a venv of its own.
IAC_VENV  := .venv-iac
IAC_STAMP := $(IAC_VENV)/.requirements.stamp
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install browser run test test-fast sandbox bench clean distclean

help:
	@echo "make run        install, start Azurite + BC sandbox + functions, save the demo connector (Ctrl-C stops)"
	@echo "make test       install, start Azurite on free ports, run the whole test suite"
	@echo "make test-fast  unit tests only (no Azurite, no sandbox)"
	@echo "make sandbox    just the BC sandbox on https://127.0.0.1:8443"
	@echo "make bench      benchmarks (python -m benchmarks)"
	@echo "make install    create .venv (and .venv-iac for checkov), install Python and npm dependencies, and Chromium for the browser tests"
	@echo "make clean      remove local state and caches (.run, .azurite, .sandbox, .local-secrets, caches)"
	@echo "make distclean  clean, and remove .venv and node_modules"

install: $(PIP_STAMP) $(NPM_STAMP) $(IAC_STAMP) browser

# Headless Chromium and its driver for tests/browser, from Debian's packages (no browser download), only
# when missing. Needs root and apt-get (CI runs as root on Debian); elsewhere it says what to install and
# the browser tests skip (they fail under CI instead).
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "make install: installing chromium and chromium-driver for the browser tests"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; \
	else \
		echo "make install: chromium and chromium-driver are missing; install them (Debian: apt-get install" \
		     "chromium chromium-driver) to run tests/browser"; \
	fi

$(PY):
	$(PYTHON3) -m venv $(VENV)

$(PIP_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(IAC_STAMP): requirements-iac.txt
	$(PYTHON3) -m venv $(IAC_VENV)
	$(IAC_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-iac.txt
	@touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

run: $(PIP_STAMP) $(NPM_STAMP)
	$(PY) -m devtools.run

test: install
	$(PY) -m devtools.testrun $(PYTEST_ARGS)

test-fast: $(PIP_STAMP) $(IAC_STAMP)
	$(PY) -m pytest -m "not integration" $(PYTEST_ARGS)

sandbox: $(PIP_STAMP)
	$(PY) -m sandbox --port 8443 --state-dir .sandbox

bench: $(PIP_STAMP) $(NPM_STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf .run .azurite .sandbox .local-secrets .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o -path ./node_modules -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(IAC_VENV) node_modules
