"""A figure declared in two files (its declaration and its SQL) reaches everything that shows figures, and stays
hidden outside a director's screen until the students it rests on are declared (issue 28). The figure is declared in
a copy of the package, as a person adding one would edit it, and the copy runs in a process of its own: the
declarations are read once, at import."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from etl.generate import generate
from etl.metrics.layout import format_version
from etl.pipeline import load

ROOT = Path(__file__).resolve().parents[1]
NAME = "remote_completions"
DEFINITION = "Completed placements in remote projects."
pytestmark = pytest.mark.slow  # processes of their own

# What the copy is asked, from its own folder: its format, a load, `mio report`, the glossary page, the outcomes
# report and the employer view of the employer with the most completed placements.
ASK = """
import json, sys
from pathlib import Path

import duckdb
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from etl.cli import main
from etl.metrics import audience
from etl.metrics.layout import format_version
from etl.metrics.report import outcomes_report, report_tables
from etl.pipeline import load

source, db, older = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
stale = CliRunner().invoke(main, ["report", "--by", "remote", "--format", "json", "--db", older])
assert load(source, db).ok
report = CliRunner().invoke(main, ["report", "--by", "remote", "--format", "json", "--db", str(db), "--min-cell", "1"])
glossary = AppTest.from_file(str(Path("dashboard/views/glossary.py").resolve())).run()
con = duckdb.connect(str(db), read_only=True)
employer = con.sql("select employer_id from fact_placements where placement_status = 'completed' group by 1 "
                   "order by count(distinct student_key) desc, 1 limit 1").fetchall()[0][0]
print(json.dumps({
    "format": format_version(), "stale": [stale.exit_code, stale.output],
    "report": json.loads(report.stdout),
    "glossary": [m.value for m in glossary.markdown],
    "overall": report_tables(con)["overall"].to_dicts(),
    "definitions": outcomes_report(con).count("%(definition)s"),
    "employer": employer, "summary": audience.employer_summary(con, employer).to_dicts(),
}, default=str))
"""


def _declare(package: Path, rests_on: str | None) -> None:
    """The figure declared in the copy: in FIGURES and the columns `mio report` prints (etl/metrics/columns.py), and
    as a count of the outcome query (etl/metrics/sql/outcomes.sql)."""
    columns = package / "etl" / "metrics" / "columns.py"
    text = columns.read_text()
    basis = f", rests_on={rests_on!r}" if rests_on else ""
    declared = f'    Figure("{NAME}", counted=True, definition="{DEFINITION}"{basis}),\n'
    text = "\n".join(line for line in text.splitlines() if f'Figure("{NAME}"' not in line) + "\n"
    text = text.replace("FIGURES = (\n", "FIGURES = (\n" + declared, 1)
    if f'    "{NAME}",' not in text:
        text = text.replace('    "median_days_to_offer",\n    "suppressed",\n]',
                            f'    "median_days_to_offer",\n    "{NAME}",\n    "suppressed",\n]', 1)
    columns.write_text(text)
    sql = package / "etl" / "metrics" / "sql" / "outcomes.sql"
    text = sql.read_text()
    if NAME not in text:
        text = text.replace("        {converters} as converters,\n",
                            "        {converters} as converters,\n"
                            f"        count_if(placement_status = 'completed' and remote = 'yes') as {NAME},\n", 1)
        text = text.replace("    p.completed_hours\nfrom applied a",
                            f"    p.completed_hours,\n    coalesce(p.{NAME}, 0) as {NAME}\nfrom applied a", 1)
        sql.write_text(text)


def _ask(package: Path, source: Path, db: Path, older: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", ASK % {"definition": DEFINITION}, str(source), str(db), str(older)],
                          capture_output=True, text=True, cwd=package, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(package)})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_figure_declared_in_two_files_is_everywhere_and_hidden_outside_until_its_basis_is_declared(
        tmp_path: Path) -> None:
    package = tmp_path / "package"
    for part in ("etl", "dashboard", "expectations"):
        shutil.copytree(ROOT / part, package / part, ignore=shutil.ignore_patterns("__pycache__"))
    source = tmp_path / "source"
    generate(source, students=1500, seed=3)
    older = tmp_path / "older.duckdb"
    assert load(source, older).ok  # by this checkout, before the figure

    _declare(package, rests_on=None)
    first = _ask(package, source, tmp_path / "w.duckdb", older)
    # No number was raised by hand, and a warehouse of the definitions before is refused, not misread.
    assert first["format"] != format_version()
    assert first["stale"][0] == 1 and "built by an older version of mio" in first["stale"][1]
    # `mio report` prints it with the count the definition gives, group by group.
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    expected = dict(con.sql("select remote, count_if(placement_status = 'completed' and remote = 'yes') "
                            "from fact_placements group by 1").fetchall())
    completers = con.sql("select count(distinct student_key) from fact_placements where placement_status = "
                         "'completed' and employer_id = ?", params=[first["employer"]]).fetchall()[0][0]
    con.close()
    assert {str(row["group"]).lower(): row[NAME] for row in first["report"]} == expected
    assert expected["yes"] > 0
    # The glossary page and the outcomes report's definitions carry its sentence.
    assert any(DEFINITION in text for text in first["glossary"])
    assert first["definitions"] == 1
    # Outside a director's screen it is hidden while nobody has said which students it rests on (closed by default).
    assert NAME in first["overall"][0] and first["overall"][0][NAME] is None
    assert first["overall"][0]["completed"] is not None  # the row is shown; only the undeclared figure is blank
    assert completers >= 10
    summary = first["summary"][0]
    assert NAME in summary and summary[NAME] is None and summary["completed"] is not None

    _declare(package, rests_on="completers")
    second = _ask(package, source, tmp_path / "w2.duckdb", older)
    assert second["format"] not in (first["format"], format_version())
    assert second["overall"][0][NAME] == expected["yes"]  # the whole population: every remote completion
    assert second["summary"][0][NAME] is not None
