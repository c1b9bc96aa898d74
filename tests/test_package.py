"""mio installed the way a career office installs it: the wheel, in a fresh virtualenv, used from an unrelated folder.

Everything it reads at run time (the expectation suites, the SQL, the presets, the app) must come with the package;
the checkout is nowhere on the path. Its report must equal the checkout's, and its dashboard must answer in Chromium.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from etl.cli import main
from etl.metrics.outcomes import Filters, outcome_counts
from tests.conftest import CHROMIUM, file_digest

ROOT = Path(__file__).resolve().parents[1]
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
STUDENTS, SEED = 1500, 11

pytestmark = [pytest.mark.slow, pytest.mark.browser]
if UV is None:
    pytestmark.append(pytest.mark.skip(reason="needs uv (make install puts it in the virtualenv)"))


def test_every_package_folder_is_listed_in_pyproject() -> None:
    """The packages are listed by hand in pyproject.toml (the suites ship from another folder): none may be missed."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {".".join(path.parent.relative_to(ROOT).parts) for top in ("etl", "dashboard")
               for path in (ROOT / top).rglob("*.py") if "__pycache__" not in path.parts}
    assert folders <= listed, folders - listed
    assert "etl.expectations" in listed


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from the checkout and installed (with the locked versions of its dependencies) into a fresh
    virtualenv; the folder of its scripts."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([UV, "build", "--wheel", "--quiet", "-o", str(work / "dist"), str(ROOT)], check=True, cwd=work)
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools' scratch folder in the checkout
    wheels = list((work / "dist").glob("mio-*.whl"))
    assert len(wheels) == 1, wheels
    subprocess.run([UV, "venv", "--quiet", "--python", sys.executable, str(work / "venv")], check=True)
    subprocess.run([UV, "pip", "install", "--quiet", "--python", str(work / "venv" / "bin" / "python"),
                    "-c", str(ROOT / "requirements.lock"), str(wheels[0])], check=True)
    return work / "venv" / "bin"


def clean_env(bin_dir: Path) -> dict[str, str]:
    """This process's environment with nothing of the checkout in it (no mio setting, no Python path, no virtualenv),
    the installed scripts first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MIO_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def outside(bin_dir: Path, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed `mio` in `folder`, with nothing of the checkout on its path or in its settings."""
    return subprocess.run([str(bin_dir / "mio"), *args], cwd=folder, env=clean_env(bin_dir), capture_output=True,
                          text=True, timeout=300)


def test_the_installed_package_reads_nothing_from_the_checkout(installed: Path, tmp_path: Path) -> None:
    probe = subprocess.run([str(installed / "python"), "-c",
                            "import etl, dashboard, etl.ingest.rules as r; "
                            "print(etl.__file__, dashboard.__file__, r.EXPECTATIONS_DIR, sep='\\n')"],
                           cwd=tmp_path, capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin"})
    paths = [Path(line) for line in probe.stdout.split()]
    assert all(str(ROOT) not in str(path) for path in paths), paths
    assert sorted(p.name for p in paths[2].glob("*.json")) == sorted(p.name for p in (ROOT / "expectations").glob(
        "*.json"))


@pytest.fixture(scope="module")
def elsewhere(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An unrelated folder where the installed `mio` generated a source and loaded it."""
    folder = tmp_path_factory.mktemp("office")
    generated = outside(installed, folder, "generate", "--out", "source", "--students", str(STUDENTS),
                        "--seed", str(SEED))
    assert generated.returncode == 0, generated.stderr
    loaded = outside(installed, folder, "load", "--source", "source", "--db", "warehouse.duckdb")
    assert loaded.returncode == 0, loaded.stderr
    assert "loaded into warehouse.duckdb" in loaded.stderr + loaded.stdout
    return folder


def test_installed_generate_writes_what_the_checkout_writes(elsewhere: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["generate", "--out", str(tmp_path / "here"), "--students", str(STUDENTS),
                                       "--seed", str(SEED)])
    assert result.exit_code == 0, result.output
    theirs = sorted((elsewhere / "source").glob("*.csv"))
    assert [p.name for p in theirs] == sorted(p.name for p in (tmp_path / "here").glob("*.csv"))
    assert [file_digest(p) for p in theirs] == [file_digest(tmp_path / "here" / p.name) for p in theirs]


@pytest.mark.parametrize("args", [["--by", "channel"], ["--by", "industry"], ["--metric", "destinations"]],
                         ids=["channel", "industry", "destinations"])
def test_installed_report_equals_the_checkouts(installed: Path, elsewhere: Path, args: list[str]) -> None:
    theirs = outside(installed, elsewhere, "report", "--db", "warehouse.duckdb", *args, "--format", "json")
    assert theirs.returncode == 0, theirs.stderr
    ours = CliRunner().invoke(main, ["report", "--db", str(elsewhere / "warehouse.duckdb"), *args,
                                     "--format", "json"])
    assert ours.exit_code == 0, ours.output
    rows = json.loads(theirs.stdout)
    assert rows == json.loads(ours.stdout)
    assert any(row["suppressed"] is False for row in rows), rows  # figures, not only blanks


@pytest.fixture
def served(installed: Path, elsewhere: Path) -> Iterator[str]:
    """`mio serve` of the installed package on the folder's warehouse, with a director's account."""
    from etl.accounts import UserStore
    from tests.test_browser import PASSWORD, serving

    users = elsewhere / "users.json"
    if not users.exists():
        UserStore(users).add("director", "director", PASSWORD)
    with serving(elsewhere / "warehouse.duckdb", users, cwd=elsewhere, env=clean_env(installed),
                 start=lambda port: [str(installed / "mio"), "serve", "--db", "warehouse.duckdb", "--port", str(port)]
                 ) as url:
        yield url


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_installed_serve_answers_with_the_warehouses_figures(served: str, elsewhere: Path, page) -> None:  # noqa: ANN001
    from tests.test_browser import sign_in

    sign_in(page, served, "director")
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    assert page.locator("[data-testid='stException']").count() == 0
    con = duckdb.connect(str(elsewhere / "warehouse.duckdb"), read_only=True)
    row = outcome_counts(con, "overall", Filters()).row(0, named=True)
    con.close()
    metric = page.locator("[data-testid='stMetric']", has_text="Applications").locator("[data-testid='stMetricValue']")
    metric.wait_for()
    assert metric.inner_text() == f"{row['applications']:,}"
