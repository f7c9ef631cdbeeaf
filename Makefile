# leadgate: `make demo` and `make test` work on a fresh clone (Python 3.11 and make).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HASH   := $(shell cksum pyproject.toml | cut -d' ' -f1)
BASE   := $(VENV)/.installed-base-$(HASH)
FULL   := $(VENV)/.installed-test-$(HASH)
DEMO   ?= demo-workspace

.PHONY: demo test lint typecheck unit bench bench-service bench-backtest bench-report bench-web clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The demo needs leadgate only; the tests also need Spark, hypothesis and the linters. The tests
# start (and stop) a throwaway PostgreSQL 15 from the machine's initdb and pg_ctl (see tests/postgres_server.py).
# LightGBM's wheel needs the GNU OpenMP runtime (Debian's libgomp1).
$(BASE): pyproject.toml | $(BIN)/python
	ldconfig -p | grep -q libgomp.so.1 || (apt-get update -qq && apt-get install -y -qq libgomp1)
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The web app's browser tests drive Debian's chromium with Playwright (no browser download).
$(FULL): pyproject.toml | $(BIN)/python
	ldconfig -p | grep -q libgomp.so.1 || (apt-get update -qq && apt-get install -y -qq libgomp1)
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(BASE)

demo: $(BASE)
	$(BIN)/leadgate demo $(DEMO)

test: lint typecheck unit

lint: $(FULL)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: $(FULL)
	$(BIN)/mypy

unit: $(FULL)
	$(BIN)/pytest

bench: $(FULL)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/service.py
	$(BIN)/python bench/backtest.py
	$(BIN)/python bench/funnel_report.py
	$(BIN)/python bench/web_pages.py

# The HTTP service alone: sustained ingestion, request latency, memory, event to assignment.
bench-service: $(FULL)
	$(BIN)/python bench/service.py

# A year replayed under the bench playbook and a stricter candidate (leadgate backtest).
bench-backtest: $(FULL)
	$(BIN)/python bench/backtest.py

# leadgate report over 1M leads with a full lifecycle history.
bench-report: $(FULL)
	$(BIN)/python bench/funnel_report.py

# The web app's lead page (and funnel page) served over that same store.
bench-web: $(FULL)
	$(BIN)/python bench/web_pages.py

clean:
	rm -rf $(VENV) $(DEMO) bench-workspace .pytest_cache .mypy_cache .ruff_cache .hypothesis
