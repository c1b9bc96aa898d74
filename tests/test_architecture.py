"""The layout shows the architecture: imports follow the data flow, every page is registered once, and the docs name
files that exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from dashboard import registry

ROOT = Path(__file__).resolve().parents[1]


def imports(path: Path) -> set[str]:
    """Every module a file imports (absolute names), at any depth of the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


# What each layer may not import: the layers above it.
FORBIDDEN = {
    "etl/ingest": ("etl.metrics", "etl.pipeline", "etl.cli", "dashboard", "bench"),
    "etl/metrics": ("etl.ingest.load", "etl.ingest.read", "etl.ingest.validate", "etl.ingest.mapping",
                    "etl.pipeline", "etl.cli", "dashboard", "bench"),
    "dashboard": ("bench", "etl.cli"),
    "etl": ("bench",),  # the harness is not shipped: nothing installed may need it
}


@pytest.mark.parametrize("layer", list(FORBIDDEN))
def test_imports_follow_the_data_flow(layer: str) -> None:
    offending = []
    for path in modules(layer):
        for name in imports(path):
            if name.startswith(FORBIDDEN[layer]):
                offending.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offending, offending
    assert modules(layer), f"no modules under {layer}: the check is looking in the wrong place"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_circle() -> None:
    """No module of the package reaches itself through its imports, counting those made inside functions (a lazy
    import that closes a circle is a circle put off, not removed). Covers the command line and the Spark engine."""
    found = {module_name(p): p for layer in ("etl", "dashboard") for p in modules(layer)}
    assert {"etl.cli", "etl.spark.load", "dashboard.ui", "dashboard.auth"} <= set(found)
    graph = {m: {n for n in imports(p) if n in found and n != m} for m, p in found.items()}
    circles = []

    def visit(module: str, path: list[str], done: set[str]) -> None:
        for nxt in sorted(graph[module]):
            if nxt in path:
                circles.append(" -> ".join([*path[path.index(nxt):], nxt]))
            elif nxt not in done:
                visit(nxt, [*path, nxt], done)
        done.add(module)

    finished: set[str] = set()
    for module in sorted(graph):
        if module not in finished:
            visit(module, [module], finished)
    assert not circles, circles


def test_no_module_imports_another_modules_private_names() -> None:
    """A name with a leading underscore is its module's own: the Spark engine, the command line and the pages use
    the loader's and the metrics layer's public names (etl/ingest/load.py says which the Spark engine uses)."""
    private = []
    for layer in ("etl", "dashboard"):
        for path in modules(layer):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(("etl", "dashboard")):
                    private += [f"{path.relative_to(ROOT)}: {node.module}.{alias.name}" for alias in node.names
                                if alias.name.startswith("_")]
    assert not private, private


@pytest.mark.slow  # 15-20 s without mypy's cache: make test (and CI) run it, make test-fast leaves it to make lint
def test_the_package_type_checks() -> None:
    """mypy finds no error in etl/ and dashboard/ (pyproject.toml's [tool.mypy]): the connection the metrics layer
    reads through is a Protocol both engines satisfy, not DuckDB's class handed a Spark look-alike."""
    import subprocess
    import sys

    found = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", "/dev/null"], cwd=ROOT, capture_output=True,
                           text=True, check=False)
    assert found.returncode == 0, found.stdout[-4000:]


def test_the_warehouse_module_imports_no_layer() -> None:
    assert not [n for n in imports(ROOT / "etl" / "warehouse.py") if n.startswith(("etl.", "dashboard", "bench"))]


def test_the_benchmark_patches_nothing_and_is_not_shipped() -> None:
    text = (ROOT / "bench" / "harness.py").read_text()
    assert "observe_queries" in text
    assert not re.search(r"^\s*[\w.]+\.query\s*=", text, re.M), "the harness must time through the hook"
    assert not (ROOT / "etl" / "bench.py").exists()


def test_every_page_file_is_registered_once_and_none_looks_like_a_test() -> None:
    files = {p.relative_to(ROOT / "dashboard").as_posix() for p in (ROOT / "dashboard" / "views").glob("*.py")}
    registered = [spec.file for spec in registry.PAGES]
    assert sorted(registered) == sorted(files)
    assert len({spec.key for spec in registry.PAGES}) == len(registry.PAGES)
    assert len({spec.url_path for spec in registry.PAGES}) == len(registry.PAGES)
    assert not [f for f in files if Path(f).name.startswith("test_")], "a page named test_* is collected by pytest"


def test_each_role_has_a_default_page() -> None:
    for role in registry.ROLES:
        pages = registry.pages_for(role)
        assert [p for p in pages if p.default_for(role)] == pages[:1]


@pytest.mark.parametrize("doc", ["docs/architecture.md", "README.md", "docs/loading.md", "docs/spark.md",
                                 "docs/figures.md", "docs/dashboard.md"])
def test_the_docs_name_files_that_exist(doc: str) -> None:
    text = (ROOT / doc).read_text()
    named = set(re.findall(r"(?<![\w/.])((?:etl|dashboard|bench|expectations|docs|tests)/[\w./*-]*[\w/*])", text))
    assert len(named) > (5 if doc == "docs/architecture.md" else 1), "the scan found too few paths"
    missing = [n for n in sorted(named) if not list(ROOT.glob(n.rstrip("/")))]
    assert not missing, missing
