"""`mio` as a user calls it: exit codes, exactly the contract's JSON keys, safe CSV, usage errors."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

from etl.cli import main
from etl.metrics.export import safe_frame, to_csv
from etl.metrics.outcomes import DESTINATION_COLUMNS, DIMENSIONS, OUTCOME_COLUMNS, outcome_table
from tests.conftest import HAND, write_source


def mio(*args: str):  # noqa: ANN201 - click's Result
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_report_json_has_exactly_the_contract_keys(hand_db: Path, dimension: str) -> None:
    result = mio("report", "--by", dimension, "--db", str(hand_db), "--format", "json", "--min-cell", "0")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows and all(list(r) == OUTCOME_COLUMNS for r in rows)
    expected = outcome_table(duckdb.connect(str(hand_db), read_only=True), dimension, min_cell=0)
    assert sorted(rows, key=lambda r: r["group"]) == expected.to_dicts()


def test_report_default_min_cell_suppresses_small_groups(hand_db: Path) -> None:
    rows = json.loads(mio("report", "--by", "channel", "--db", str(hand_db), "--format", "json").stdout)
    assert all(r["suppressed"] and r["applications"] is None and r["offer_rate"] is None for r in rows)


def test_report_destinations_json(hand_db: Path) -> None:
    result = mio("report", "--metric", "destinations", "--db", str(hand_db), "--format", "json", "--min-cell", "0")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert all(list(r) == DESTINATION_COLUMNS for r in rows)
    assert {"cohort": "2025", "participated": "yes", "cohort_size": 1, "knowledge_rate": 1.0,
            "career_outcomes_rate": 1.0, "median_salary_usd": 70000.0, "suppressed": False} in rows


def test_report_csv(hand_db: Path) -> None:
    result = mio("report", "--by", "institution", "--db", str(hand_db), "--format", "csv", "--min-cell", "0")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["group"] for r in rows] == ["U1", "U2"]
    assert list(rows[0]) == OUTCOME_COLUMNS
    assert rows[0]["applications"] == "5" and rows[1]["completed"] == "1"


def test_usage_errors_exit_2(hand_db: Path) -> None:
    assert mio("report", "--by", "colour", "--db", str(hand_db)).exit_code == 2
    assert mio("report", "--db", str(hand_db)).exit_code == 2
    assert mio("report", "--by", "overall", "--metric", "destinations", "--db", str(hand_db)).exit_code == 2
    assert mio("load").exit_code == 2
    assert mio("nonsense").exit_code == 2


def test_report_without_warehouse_exits_1(tmp_path: Path) -> None:
    result = mio("report", "--by", "overall", "--db", str(tmp_path / "none.duckdb"))
    assert result.exit_code == 1 and "no warehouse" in result.stderr


def test_csv_export_neutralizes_formulas(tmp_path: Path) -> None:
    employers = HAND["employers"] + ['E3,"=HYPERLINK(""http://x"",""y"")",Retail,1-49,CA',
                                     "E4,+SUM(A1),Retail,1-49,CA", "E5,-2+3,Retail,1-49,CA", "E6,@cmd,Retail,1-49,CA"]
    projects = HAND["micro_internships"] + [
        f"P1{i},E{i},T,Sales,,Direct,2025-01-10,10,200,true,1" for i in (3, 4, 5, 6)]
    apps = HAND["applications"] + [
        f"A{i}0,S1,P1{i},2025-01-12T10:00:00Z,direct,submitted," for i in (3, 4, 5, 6)]
    db = tmp_path / "w.duckdb"
    source = write_source(tmp_path / "s", {**HAND, "employers": employers, "micro_internships": projects,
                                            "applications": apps})
    assert mio("load", "--source", str(source), "--db", str(db), "--max-bad-rows", "1").exit_code == 0
    out = mio("report", "--by", "employer", "--db", str(db), "--format", "csv", "--min-cell", "0").stdout
    groups = {r["group"] for r in csv.DictReader(io.StringIO(out))}
    assert groups == {"Acme Analytics", "Beta Bank", "'=HYPERLINK(\"http://x\",\"y\")", "'+SUM(A1)", "'-2+3",
                      "'@cmd"}
    # JSON is data for programs: it keeps the text as it is.
    rows = json.loads(mio("report", "--by", "employer", "--db", str(db), "--format", "json", "--min-cell", "0").stdout)
    assert '=HYPERLINK("http://x","y")' in {r["group"] for r in rows}


def test_neutralize_keeps_numbers() -> None:
    cells = safe_frame(pl.DataFrame({"v": ["=1+1", "plain", None, "-2", "@x"]}))["v"].to_list()
    assert cells == ["'=1+1", "plain", None, "'-2", "'@x"]
    text = to_csv(pl.DataFrame({"name": ["-x", "ok"], "days": [-3.5, 2.0]}))
    assert text.splitlines() == ["name,days", "'-x,-3.5", "ok,2.0"]


def test_generate_and_load_commands(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    assert mio("generate", "--out", str(out), "--students", "200", "--seed", "5").exit_code == 0
    result = mio("load", "--source", str(out), "--db", str(tmp_path / "g.duckdb"), "--format", "json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] == "loaded"
    assert sum(f["rows_quarantined"] for f in summary["files"]) == 0


@pytest.mark.slow
def test_demo_generates_loads_and_prints_one_account_per_role(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    from etl.accounts import UserStore

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MIO_USERS", raising=False)
    result = mio("demo", "--no-serve")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "data" / "sample" / "applications.csv").exists()
    assert (tmp_path / "data" / "warehouse.duckdb").exists()
    store = UserStore(tmp_path / "data" / "users.json")
    assert [(u.username, u.role) for u in store.list()] == [("director", "director"), ("employer", "employer"),
                                                             ("student", "student")]
    printed = dict(re.findall(r"│ (director|employer|student) +│ [^│]+│ (\S+) +│", result.stderr))
    assert set(printed) == {"director", "employer", "student"}
    for username, password in printed.items():
        assert store.authenticate(username, password) is not None


@pytest.mark.parametrize("dimension", ["employer", "industry", "overall"])
def test_the_report_reads_in_an_80_column_terminal(sample: tuple[Path, Path], dimension: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Counts with separators, rates as percentages, groups wrapped rather than cut, suppressed groups marked."""
    import duckdb

    from etl.metrics.outcomes import outcome_table

    monkeypatch.setenv("COLUMNS", "80")
    db = sample[1]
    result = mio("report", "--by", dimension, "--db", str(db), "--min-cell", "20")
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    assert "…" not in result.stderr  # nothing truncated
    con = duckdb.connect(str(db), read_only=True)
    table = outcome_table(con, dimension, min_cell=20)
    con.close()
    text = " ".join(result.stderr.split())
    for row in table.iter_rows(named=True):
        if row["suppressed"]:
            continue
        assert f"{row['applications']:,}" in text
        if row["offer_rate"] is not None:
            assert f"{row['offer_rate'] * 100:.1f}" in text
    assert ("*" in text) == bool(table["suppressed"].any())
    if table["suppressed"].any():
        assert "suppressed: fewer than 20" in text
    assert not re.search(r"\b0\.\d{3}", text)  # no fractions: rates are percentages


def test_the_spark_engine_options_are_checked_before_anything_runs(tmp_path: Path) -> None:
    """--engine spark needs --lake; a load's --lake and --spark-remote need --engine spark; a missing lake exits 1
    with the reason; a load into an object store through Spark Connect is refused (no Spark is started for any of
    these; tests/test_spark.py loads from and into a store in local mode)."""
    source = write_source(tmp_path / "hand", HAND)
    missing_lake = mio("load", "--source", str(source), "--engine", "spark")
    assert missing_lake.exit_code == 2 and "give --lake" in missing_lake.output
    stray = mio("load", "--source", str(source), "--lake", str(tmp_path / "lake"))
    assert stray.exit_code == 2 and "go with --engine spark" in stray.output
    assert not (tmp_path / "lake").exists()
    for command in (["report", "--by", "industry", "--engine", "spark", "--lake", str(tmp_path / "nowhere")],
                    ["serve", "--lake", str(tmp_path / "nowhere")]):
        result = mio(*command)
        assert result.exit_code == 1, command
        assert "no lake at" in result.output, command
    by_uri = mio("load", "--source", f"file://{source}", "--db", str(tmp_path / "w.duckdb"), "--dry-run")
    assert by_uri.exit_code == 0, by_uri.output  # a file:// URI names the same folder
    document = ["report", "--out", str(tmp_path / "r.html")]
    remote = mio(*document, "--engine", "spark", "--lake", str(tmp_path), "--spark-remote", "sc://127.0.0.1:1")
    assert remote.exit_code == 2 and "no --spark-remote" in remote.output
    stray_remote = mio("report", "--by", "industry", "--spark-remote", "sc://127.0.0.1:1")
    assert stray_remote.exit_code == 2 and "goes with --engine spark" in stray_remote.output
    for engine in ([], ["--engine", "spark"]):  # DuckDB reads a lake without --engine spark too
        nowhere = mio(*document, *engine, "--lake", str(tmp_path / "nowhere"))
        assert nowhere.exit_code == 1 and "no lake at" in nowhere.output
    store = mio("load", "--source", str(source), "--engine", "spark", "--lake", "s3://bucket/lake",
                "--spark-remote", "sc://127.0.0.1:1")
    said = " ".join(store.output.split())
    assert store.exit_code == 2 and "then `mio publish --lake PATH --to URI` copies it" in said
    assert not (tmp_path / "r.html").exists()


def test_the_spark_engine_without_java_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import etl.spark.session

    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    monkeypatch.setattr(etl.spark.session, "java_available", lambda: False)
    source = write_source(tmp_path / "hand", HAND)
    result = mio("load", "--source", str(source), "--engine", "spark", "--lake", str(tmp_path / "lake"))
    assert result.exit_code == 1
    assert "needs Java 17" in result.output
    assert not (tmp_path / "lake").exists()
