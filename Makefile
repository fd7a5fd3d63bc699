# Two commands do all set-up: `make demo` (the whole pipeline on generated demo data) and `make test`.
# Both create or reuse .venv and install the pinned dependencies (requirements.lock) first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

export CBCCVC_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(CBCCVC_DATA_DIR)/dagster_home
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

REPORTS_PORT ?= 3001
# Links in asset metadata point at the reports server of `make ui` (tests keep file links).
run demo ui retrain: export CBCCVC_REPORTS_URL ?= http://127.0.0.1:$(REPORTS_PORT)

DEMO_SCALE ?= 0.013
DEMO_SEED ?= 2025
DBT_INPUTS := $(shell find dbt_project/models dbt_project/macros dbt_project/seeds dbt_project/tests -type f 2>/dev/null) \
	dbt_project/dbt_project.yml
MANIFEST := dbt_project/target/manifest.json

.PHONY: install manifest instance demo demo-data run retrain test ui lint clean-demo

install: $(INSTALLED)

$(INSTALLED): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# dagster-dbt needs the manifest before any load outside `dagster dev`.
manifest: $(MANIFEST)

$(MANIFEST): $(INSTALLED) $(DBT_INPUTS)
	$(BIN)/dagster-dbt project prepare-and-package --file orchestration/conform/project.py
	touch $@

instance: $(INSTALLED)
	mkdir -p "$(DAGSTER_HOME)"
	cp orchestration/dagster.yaml "$(DAGSTER_HOME)/dagster.yaml"

# Generated once; re-running `make demo` reuses the data (delete it with `make clean-demo`).
demo-data: $(INSTALLED)
	test -d "$(CBCCVC_DATA_DIR)/landing" || \
		$(BIN)/python -m synthetic --out "$(CBCCVC_DATA_DIR)" --scale $(DEMO_SCALE) --seed $(DEMO_SEED)

demo: demo-data
	$(MAKE) --no-print-directory run

run: $(MANIFEST) instance
	$(BIN)/python -m orchestration.run $(if $(UNITS),--units $(UNITS)) $(if $(FORCE),--force)

test: $(MANIFEST)
	$(BIN)/python -m pytest -q

# Retrain the linkage model on every conformed record (a new version; later runs use it).
retrain: $(MANIFEST) instance
	$(BIN)/dagster asset materialize -m orchestration.definitions --select link/splink_model

# The UI, and beside it a local web server of the reports folder (Data Docs, dbt docs, Splink charts,
# workbooks): asset metadata links there, since browsers do not open file links from a web page.
ui: $(MANIFEST) instance
	mkdir -p "$(CBCCVC_DATA_DIR)/reports"
	$(BIN)/python -m http.server $(REPORTS_PORT) --bind 127.0.0.1 --directory "$(CBCCVC_DATA_DIR)/reports" \
		>/dev/null 2>&1 & trap 'kill $$!' EXIT; $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

lint: $(INSTALLED)
	$(BIN)/ruff check .

clean-demo:
	rm -rf "$(CBCCVC_DATA_DIR)"
