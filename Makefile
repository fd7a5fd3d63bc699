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
		$(BIN)/python -m orchestration.synthetic --out "$(CBCCVC_DATA_DIR)" --scale $(DEMO_SCALE) --seed $(DEMO_SEED)

demo: demo-data
	$(MAKE) --no-print-directory run

run: $(MANIFEST) instance
	$(BIN)/python -m orchestration.run $(if $(UNITS),--units $(UNITS))

test: $(MANIFEST)
	$(BIN)/python -m pytest -q

# Retrain the linkage model on every conformed record (a new version; later runs use it).
retrain: $(MANIFEST) instance
	$(BIN)/dagster asset materialize -m orchestration.definitions --select link/splink_model

ui: $(MANIFEST) instance
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

lint: $(INSTALLED)
	$(BIN)/ruff check .

clean-demo:
	rm -rf "$(CBCCVC_DATA_DIR)"
