"""The Import page: a director uploads a real export, maps it, previews, dry-runs and loads it, and the First
destinations page changes. Uploads live in a private folder that is gone after the load."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from dashboard import registry
from etl import importer
from etl.accounts import User
from etl.cli import main
from etl.metrics.outcomes import destinations_table
from etl.pipeline import load
from tests.conftest import HAND, run_app, write_source
from tests.test_mapping import PLACEMENT_MAPPING, REAL, needs_real

PAGE = registry.page("import").file


def text(element: object) -> str:
    """What a message shows: the page escapes every Markdown character of its text."""
    return re.sub(r"\\(.)", r"\1", element.value)


def open_import(db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    at = run_app(db, monkeypatch, User("dana", "director"))
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


@needs_real
def test_a_director_imports_the_campus_placement_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "w.duckdb"
    assert load(write_source(tmp_path / "hand", HAND), db).ok  # an office that already has data
    con = duckdb.connect(str(db), read_only=True)
    before = destinations_table(con, min_cell=0)
    con.close()
    at = open_import(db, monkeypatch)
    raw = (REAL / "Placement_Data_Full_Class.csv").read_bytes()
    at.file_uploader[0].upload("Placement_Data_Full_Class.csv", raw, "text/csv").run()
    assert not at.exception, at.exception
    # The draft is shown, and its TODOs stop it, with the line.
    draft = at.text_area(key="import_mapping").value
    assert "from: Placement_Data_Full_Class.csv" in draft and "{value: TODO}" in draft
    assert "mapping.yaml:9: institution: the value is still TODO" in text(at.error[0])
    folder = at.session_state["import_folder"].path
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and (folder / "Placement_Data_Full_Class.csv").exists()
    # The director writes the mapping; the table follows it.
    at.text_area(key="import_mapping").input(PLACEMENT_MAPPING).run()
    assert not at.error, text(at.error[0])
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table.columns) == ["entity", "file", "target column", "source", "transformation"]
    outcome = table[table["target column"] == "outcome"].iloc[0]
    assert outcome["source"] == "status" and "Placed → employed_full_time" in outcome["transformation"]
    # Dry run: 215 and 215, nothing quarantined, the first rows as they would load; the warehouse is untouched.
    digest = db.read_bytes()
    at.button(key="import_check").click().run()
    assert not at.exception, at.exception
    summary = at.dataframe[1].value
    assert summary["rows read"].tolist() == [215, 215] and summary["quarantined"].tolist() == [0, 0]
    preview = at.dataframe[2].value
    assert preview["student_id"].tolist()[:3] == ["MBA-1", "MBA-2", "MBA-3"]
    assert preview["line"].tolist()[:3] == [2, 3, 4]
    assert db.read_bytes() == digest
    # Load: the uploads are removed and the First destinations page shows cohort 2020.
    at.button(key="import_load").click().run()
    assert not at.exception, at.exception
    assert "Loaded as load 2" in text(at.success[0])
    assert not folder.exists()
    at.switch_page(registry.page("destinations").file).run()
    assert not at.exception, at.exception
    shown = at.dataframe[0].value
    cohort = shown[shown["cohort"] == "2020"].iloc[0]
    assert cohort["cohort_size"] == 215 and cohort["career_outcomes_rate"] == pytest.approx(round(148 / 215, 4))
    assert "2020" not in before["cohort"].to_list()
    # Data quality's load history names who uploaded the files and the mapping they wrote, not the folder that is
    # gone; the files of the load keep their own names.
    at.switch_page(registry.page("data_quality").file).run()
    assert not at.exception, at.exception
    history = at.dataframe[0].value.set_index("load_id")
    assert history.loc[2, "source"] == "uploaded on the Import page by dana"
    assert history.loc[2, "mapping_file"] == "mapping.yaml, written on the Import page"
    assert history.loc[2, "mapping"] == PLACEMENT_MAPPING
    assert history.loc[1, "source"] == str((tmp_path / "hand").resolve())
    assert at.dataframe[1].value["file"].tolist() == ["Placement_Data_Full_Class.csv"] * 2


def test_a_mapping_uploaded_with_the_files_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_import(tmp_path / "w.duckdb", monkeypatch)
    files = [(f"{name}.csv", ("\n".join(lines) + "\n").encode(), "text/csv") for name, lines in HAND.items()]
    at.file_uploader[0].set_value([*files, ("my mapping.yml", b"version: 1\nentities:\n  students:\n    from: "
                                            b"students.csv\n    columns:\n      student_id: student_id\n", "text")])
    at.run()
    assert "leaves out required columns institution, major, class_level" in text(at.error[0])
    assert at.session_state["import_folder"].mapping_path.read_text().startswith("version: 1")
    at.session_state["import_folder"].remove()


def test_files_in_the_contracts_shape_load_without_a_mapping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    """The nine files of the contract uploaded together: no mapping is drafted (a draft used to map students from
    skill_assessments.csv too, and stop at "'students' appears twice"); the dry run finds a bad row, and the files
    without it load."""
    db = tmp_path / "w.duckdb"

    def upload(tables: dict[str, list[str]]) -> AppTest:
        at = open_import(db, monkeypatch)
        files = [(f"{name}.csv", ("\n".join(lines) + "\n").encode(), "text/csv") for name, lines in tables.items()]
        at.file_uploader[0].set_value(files).run()
        assert not at.exception, at.exception
        assert not at.text_area  # no mapping to write
        assert "no mapping is needed" in at.caption[1].value
        assert not (at.session_state["import_folder"].path / "mapping.yaml").exists()
        at.button(key="import_check").click().run()
        assert not at.exception, at.exception
        return at

    bad = upload({**HAND, "employers": [*HAND["employers"], "E3,Gamma,Retail,tiny,CA"]})  # size_band not in set
    assert bad.dataframe[0].value.set_index("entity")["quarantined"].to_dict()["employers"] == 1
    assert "too many bad rows" in text(bad.error[0]) and "employers.csv (1 of 3 rows)" in text(bad.error[0])
    bad.session_state["import_folder"].remove()
    good = upload(HAND)
    summary = good.dataframe[0].value
    assert summary["rows read"].sum() == sum(len(lines) - 1 for lines in HAND.values())
    assert summary["quarantined"].sum() == 0
    good.button(key="import_load").click().run()
    assert not good.exception, good.exception
    assert "Loaded as load 1" in text(good.success[0])
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.sql("select count(*) from students").fetchall() == [(7,)]
        assert con.sql("select source, mapping_file, mapping from load_history").fetchall() == [
            ("uploaded on the Import page by dana", None, None)]
    finally:
        con.close()


def test_a_draft_maps_only_the_files_not_in_the_contracts_shape(tmp_path: Path) -> None:
    from etl.ingest import draft

    source = write_source(tmp_path / "s", HAND)
    assert set(draft.contract_files(source)) == set(HAND)
    assert draft.draft(source) == []
    (source / "students.csv").rename(source / "roster.csv")  # an export in its own name: that one is drafted
    assert [d.entity for d in draft.draft(source)] == ["students"]
    assert [d.file for d in draft.draft(source)] == ["roster.csv"]
    (source / "roster.csv").rename(source / "students.csv")
    result = CliRunner().invoke(main, ["map", "--source", str(source)])
    assert result.exit_code == 0 and not result.stdout
    assert "already in the contract's shape" in " ".join(result.stderr.split())


def test_abandoned_uploads_are_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    old = importer.ImportFolder.create()
    os.utime(old.path, (0, 0))  # untouched for decades
    fresh = importer.ImportFolder.create()
    assert not old.path.exists() and fresh.path.exists()
    fresh.remove()


def test_uploads_are_checked(tmp_path: Path) -> None:
    folder = importer.ImportFolder.create()
    try:
        with pytest.raises(importer.UploadRejected):
            folder.save("../../etc/passwd.csv".replace("passwd.csv", ".hidden.csv"), b"x")
        saved = folder.save("../../evil/students.csv", b"a,b\n")
        assert saved.parent == folder.path  # never a path of the uploader's choosing
        with pytest.raises(importer.UploadRejected, match="use one of"):
            folder.save("notes.exe", b"x")
        with pytest.raises(importer.UploadRejected, match="larger than"):
            folder.save("big.csv", b"x" * (importer.MAX_UPLOAD_MB * 2**20 + 1))
    finally:
        folder.remove()
    assert not folder.path.exists()


@pytest.mark.parametrize("role", ["employer", "student"])
def test_only_directors_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, role: str) -> None:
    monkeypatch.setenv("MIO_DB", str(tmp_path / "w.duckdb"))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "dashboard" / PAGE), default_timeout=60)
    at.session_state["user"] = User("u", role, "E1" if role == "employer" else None)
    at.run()
    assert [e.value for e in at.error] == ["This page is not available to your account."]
    assert not at.file_uploader
