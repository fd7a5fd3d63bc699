"""The Dagster UI in a real browser: `dagster dev` on 127.0.0.1, driven by headless Chromium.

`dagster dev -w workspace.yaml` (what `make ui` runs) starts on a free port with a throw-away
DAGSTER_HOME and data directory; Playwright drives Debian's `chromium` (never a browser of its own:
`playwright install` is not used) through the global asset graph, one asset's lineage graph and that
asset's page, asserts on what the browser rendered and saves a screenshot of each page.

Without a browser the tests skip with the install command (`apt-get install -y chromium`); under CI
(`CI=true`) they fail instead, because `.ci/run` installs it. `CBCCVC_CHROMIUM` names another browser
binary (a path or a command name). Screenshots go to pytest's temporary directory, or to
`CBCCVC_BROWSER_ARTIFACTS` when set; each path is printed. Deselect these tests with `-m "not browser"`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MANIFEST = PROJECT_ROOT / "dbt_project" / "target" / "manifest.json"
INSTALL_COMMAND = "apt-get install -y chromium"
LOCATION = "orchestration.definitions"
GROUPS = ("ingest", "conform", "link", "quality", "publish")
ASSET = "marts/fct_civil_servant_records"

STARTUP_TIMEOUT_S = 120
UI_TIMEOUT_MS = 30_000
# Chromium runs as root in CI (no sandbox then) and in containers with a small /dev/shm.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]

# Runs `dagster dev` with Ctrl-C (SIGINT) at its default: a process started in the background by a
# shell inherits SIGINT ignored, and `dagster dev` (which maps SIGTERM to SIGINT) would then never stop.
_EXEC_WITH_DEFAULT_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _unavailable(reason: str) -> None:
    """Skip, naming the fix; under CI fail, since .ci/run installs the browser."""
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: .ci/run installs it, so the browser tests must run)", pytrace=False)
    pytest.skip(reason)


def _find_chromium() -> str | None:
    names = [os.environ["CBCCVC_CHROMIUM"]] if os.environ.get("CBCCVC_CHROMIUM") else ["chromium", "chromium-browser"]
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def chromium_path() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the Python package playwright is not installed: pip install -r requirements.lock")
    found = _find_chromium()
    if found is None:
        where = os.environ.get("CBCCVC_CHROMIUM") or "chromium (or chromium-browser) on PATH"
        _unavailable(f"no Chromium found ({where}): install it with: {INSTALL_COMMAND}")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _graphql(base_url: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{base_url}/graphql", data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


WORKSPACE_QUERY = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } }
} } } }
"""


@dataclass
class DagsterUI:
    base_url: str
    log: Path
    screenshots: Path
    shots: list[Path] = field(default_factory=list)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def _wait_until_loaded(process: subprocess.Popen, ui: DagsterUI) -> None:
    """Until the webserver answers and the code location has loaded (or failed to)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster dev exited with code {process.returncode}:\n{ui.log_tail()}", pytrace=False)
        try:
            with urllib.request.urlopen(f"{ui.base_url}/server_info", timeout=5):
                pass
            entries = _graphql(ui.base_url, WORKSPACE_QUERY)["data"]["workspaceOrError"]["locationEntries"]
        except (urllib.error.URLError, ConnectionError, TimeoutError, KeyError, TypeError) as error:
            last = repr(error)
        else:
            entry = next((e for e in entries if e["name"] == LOCATION), None)
            if entry and entry["loadStatus"] == "LOADED":
                loaded = entry["locationOrLoadError"] or {}
                if loaded.get("__typename") == "PythonError":
                    pytest.fail(
                        f"code location {LOCATION} failed to load (is the dbt manifest built? `make manifest`):\n"
                        f"{loaded.get('message')}", pytrace=False,
                    )
                return
            last = f"location entries: {entries}"
        time.sleep(0.5)
    pytest.fail(f"dagster dev not ready after {STARTUP_TIMEOUT_S} s ({last}):\n{ui.log_tail()}", pytrace=False)


def _stop(process: subprocess.Popen) -> None:
    """Ctrl-C for `dagster dev` (it shuts its webserver, daemon and code servers down), then its whole
    process group, so nothing it started outlives the test."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def dagster_ui(chromium_path, tmp_path_factory) -> Iterator[DagsterUI]:
    if not MANIFEST.exists():
        pytest.fail(f"{MANIFEST.relative_to(PROJECT_ROOT)} is missing: run `make manifest`", pytrace=False)
    work = tmp_path_factory.mktemp("dagster_ui")
    dagster_home = work / "dagster_home"
    data_dir = work / "data"
    dagster_home.mkdir()
    data_dir.mkdir()
    shutil.copy(PROJECT_ROOT / "orchestration" / "dagster.yaml", dagster_home / "dagster.yaml")
    screenshots = Path(os.environ.get("CBCCVC_BROWSER_ARTIFACTS") or work / "screenshots")
    screenshots.mkdir(parents=True, exist_ok=True)

    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "DAGSTER_HOME": str(dagster_home),
        "CBCCVC_DATA_DIR": str(data_dir),
        "CBCCVC_WAREHOUSE": str(data_dir / "warehouse.duckdb"),
        "CBCCVC_TOKEN_KEY": "browser-test-key",
        "DO_NOT_TRACK": "1",
    }
    port = _free_port()
    ui = DagsterUI(f"http://127.0.0.1:{port}", work / "dagster-dev.log", screenshots)
    command = [
        sys.executable, "-c", _EXEC_WITH_DEFAULT_SIGINT,
        str(bin_dir / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port),
    ]
    with ui.log.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_loaded(process, ui)
        # The "Join the Dagster community" dialog opens on 127.0.0.1 until it has been seen once.
        _graphql(ui.base_url, "mutation { setNuxSeen }")
        yield ui
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser, dagster_ui):
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, base_url=dagster_ui.base_url)
    opened = context.new_page()
    opened.set_default_timeout(UI_TIMEOUT_MS)
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def _visible(locator) -> None:
    from playwright.sync_api import expect

    expect(locator).to_be_visible(timeout=UI_TIMEOUT_MS)


def _contains(locator, text: str) -> None:
    from playwright.sync_api import expect

    expect(locator).to_contain_text(text, timeout=UI_TIMEOUT_MS)


def _screenshot(page, ui: DagsterUI, name: str, capsys) -> Path:
    path = ui.screenshots / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000, f"{path} looks empty"
    ui.shots.append(path)
    with capsys.disabled():
        print(f"\nscreenshot: {path}")
    return path


def _graph_node(page, label: str):
    """A node of the rendered asset graph (drawn as HTML inside the graph's SVG), not the sidebar.

    Zoomed out to fit a larger graph, the UI shortens a long name in its middle ("fct_civil…_records"):
    the node is the one whose text is the name, or its start and end around an ellipsis.
    """
    first, last = label[:4], label[-4:]
    shortened = re.compile(rf"^{re.escape(first)}[^…]*…[^…]*{re.escape(last)}$")
    nodes = page.locator("svg foreignObject")
    exact = nodes.get_by_text(label, exact=True)
    return exact.or_(nodes.get_by_text(shortened).filter(has_text=first)).first


def _unit_count() -> int:
    from orchestration.units import unit_codes

    return len(unit_codes())


def test_global_asset_graph_shows_every_layer(page, dagster_ui, capsys):
    page.goto("/asset-groups")
    _visible(page.get_by_text("Global asset lineage", exact=True))
    for group in GROUPS:
        _visible(_graph_node(page, group))
    _screenshot(page, dagster_ui, "asset-graph-global", capsys)


def _neighbours(ui: DagsterUI) -> tuple[list[str], list[str]]:
    """The asset's upstream and downstream asset names, as the running code location defines them."""
    path = json.dumps(ASSET.split("/"))
    answer = _graphql(ui.base_url, f"""{{ assetNodeOrError(assetKey: {{path: {path}}}) {{ __typename
        ... on AssetNode {{ dependencyKeys {{ path }} dependedByKeys {{ path }} }} }} }}""")
    node = answer["data"]["assetNodeOrError"]
    assert node["__typename"] == "AssetNode", answer
    return ([key["path"][-1] for key in node["dependencyKeys"]], [key["path"][-1] for key in node["dependedByKeys"]])


def test_asset_lineage_graph_shows_the_asset_and_its_neighbours(page, dagster_ui, capsys):
    # One asset's graph, nearest neighbours: a group's whole graph draws only the nodes in view.
    upstream, downstream = _neighbours(dagster_ui)
    assert "stg_raw__extracts" in upstream, upstream
    assert downstream, "the conformed table feeds linkage and quality"
    page.goto(f"/assets/{ASSET}?view=lineage")
    for name in (ASSET.split("/")[-1], *upstream, *downstream):
        _visible(_graph_node(page, name))
    _visible(_graph_node(page, "conform"))  # the box of the asset's group
    # Zoomed in on the asset (a double click), its node's live data shows: its partitions are the source units.
    _graph_node(page, ASSET.split("/")[-1]).dblclick()
    asset_node = page.locator("svg foreignObject").filter(has=page.get_by_text(ASSET.split("/")[-1], exact=True))
    _contains(asset_node.first, f"{_unit_count()} partitions")
    _screenshot(page, dagster_ui, "asset-lineage-fct_civil_servant_records", capsys)


def test_asset_page_shows_definition_and_columns(page, dagster_ui, capsys):
    description = next(
        node["description"] for key, node in json.loads(MANIFEST.read_text())["nodes"].items()
        if key.startswith("model.") and key.endswith(".fct_civil_servant_records")
    )
    first_sentence = description.split(". ")[0]
    assert len(first_sentence) > 20, description

    page.goto(f"/assets/{ASSET}")
    _visible(page.get_by_text(first_sentence, exact=False).first)
    for text in ("Description", "Columns", "unit_code", "Source unit (partition key).", LOCATION, "unit_pipeline",
                 "new_extracts", f"{_unit_count()} schedules"):
        _visible(page.get_by_text(text, exact=True).first)
    _visible(page.get_by_role("link", name="conform", exact=True).first)
    assert "Never materialized" in page.inner_text("body")
    _screenshot(page, dagster_ui, "asset-fct_civil_servant_records", capsys)
