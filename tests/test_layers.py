"""Data flows one way: ingest → conform → link → quality → publish → audit. No module imports from a layer
above its own, and the shared modules at the bottom of the package import no layer at all."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "orchestration"
LAYERS = ("ingest", "conform", "link", "quality", "publish", "audit")
# The code location's assembly and command line sit above every layer.
TOP = {"definitions", "jobs", "schedules", "sensors", "run", "summary", "run_inputs"}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "orchestration" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in LAYERS or parts[1] in TOP else "bottom"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name.startswith("orchestration.")}


def _rank(layer: str) -> int:
    return -1 if layer == "bottom" else len(LAYERS) if layer in TOP else LAYERS.index(layer)


def test_no_module_imports_from_a_layer_above_its_own():
    upward = set()
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        own = _layer(module)
        for imported in _imports(path):
            theirs = _layer(imported)
            if own and theirs and _rank(theirs) > _rank(own):
                upward.add((own, theirs, module, imported))
    assert sorted(upward) == []
