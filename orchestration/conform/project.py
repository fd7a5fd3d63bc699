"""The dbt project handle, shared by the conform and quality dbt assets."""

from __future__ import annotations

from dagster_dbt import DbtProject

from orchestration.resources import DBT_PROJECT_DIR, apply_environment_defaults

apply_environment_defaults()

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# `dagster dev` compiles the manifest on load; tests and CLI runs prepare it explicitly
# (`dagster-dbt project prepare-and-package`, run by `make manifest`).
dbt_project.prepare_if_dev()
