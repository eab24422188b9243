# Consulta: `make run` serves the platform with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
export CONSULTA_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: install translations messages chromium run test lint format clean bench bench-smoke screenshots frontend

PIP    := $(BIN)/pip install --quiet --disable-pip-version-check

# Running needs the package and the embedded mail sink; testing and linting add their tools.
$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e ".[embedded]"
	touch $@

$(VENV)/.installed: $(VENV)/.runtime
	$(PIP) -e ".[embedded,test,dev,bench]"
	touch $@

install: $(VENV)/.installed translations frontend

# GOV.UK Frontend, the MOJ components and accessible-autocomplete, pinned by package-lock.json,
# built into app/static/vendor (scripts/build-frontend; node and npm are on every machine).
frontend: app/static/vendor/consulta.css
app/static/vendor/consulta.css: package.json package-lock.json $(wildcard app/frontend/*.scss) scripts/build-frontend
	scripts/build-frontend

# Compiled catalogues (.mo) are build output; the .po files are the source.
translations: $(VENV)/.runtime
	$(BIN)/pybabel compile -d app/translations

# Re-extract UI strings after changing templates or code, then translate the new entries.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations

# Browser tests drive Debian's Chromium (no browser download is possible here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium \
	  || { [ "$$CI" != true ] && echo "chromium could not be installed: browser tests will be skipped"; }; }

run: $(VENV)/.runtime translations frontend
	$(BIN)/flask --app app db upgrade
	$(BIN)/flask --app app seed
	CONSULTA_DEMO_MODE=true $(BIN)/flask --app app demo-data
	PORT=$(PORT) BIN=$(BIN) scripts/run-embedded

test: install chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# The pictures the README shows: the main pages of each role (scripts/screenshots, on a fresh
# seeded SQLite database), then the report's briefing and its PDF, taken by the browser test
# that checks them (which needs the test services: PostgreSQL and Redis, as for `make test`).
screenshots: install chromium
	mkdir -p docs/screenshots
	$(BIN)/python scripts/screenshots docs/screenshots
	CONSULTA_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest -q -p no:cacheprovider \
	  tests/e2e/test_report_briefing_in_browser.py

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The bench (bench/README.md): its own database, production-shaped processes, a load generator.
# One run per size in BENCH_ROWS; results in bench/results/. `make bench BENCH_ROWS=100000`.
BENCH_ROWS ?= 100000 1000000
BENCH_ARGS ?=

$(VENV)/.bench: $(VENV)/.runtime
	$(PIP) -e ".[embedded,bench]"
	touch $@

bench: $(VENV)/.bench translations
	@for rows in $(BENCH_ROWS); do \
	  $(BIN)/python bench/run.py --rows $$rows $(BENCH_ARGS) || exit 1; \
	done

# Tiny sizes and short scenarios: the whole bench in about a minute on an idle machine.
bench-smoke: $(VENV)/.bench translations
	$(BIN)/python bench/run.py --smoke $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache *.egg-info
