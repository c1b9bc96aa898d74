"""Contract section 2: what bad input gets. One test per kind, each checking the exit code, the message naming
the file, and the warehouse afterwards (unchanged, or holding exactly the good rows)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from etl.cli import main
from etl.ingest.read import FileRejected
from etl.pipeline import load
from tests.conftest import HAND, file_digest, write_source


def run_load(source: Path, db: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["load", "--source", str(source), "--db", str(db), *extra])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stderr


def count(db: Path, table: str) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(f"select count(*) from {table}").fetchall()[0][0]
    finally:
        con.close()


def ids(db: Path, table: str, key: str) -> set[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0] for r in con.sql(f"select {key} from {table}").fetchall()}
    finally:
        con.close()


def variant(tmp_path: Path, **changes: list[str]) -> Path:
    """The hand-built source with some files replaced."""
    return write_source(tmp_path / "variant", {**HAND, **changes})


@pytest.fixture(scope="module")
def loaded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("loaded")
    db = folder / "w.duckdb"
    assert load(write_source(folder / "base", HAND), db).ok
    return db


@pytest.fixture
def loaded_db(tmp_path: Path, loaded_template: Path) -> Path:
    """A warehouse that already holds the hand-built source, to show that a rejected load leaves it as it was: a copy
    of one loaded once (a load is the costly part; each test writes to its own copy)."""
    db = tmp_path / "w.duckdb"
    shutil.copyfile(loaded_template, db)
    return db


def assert_rejected_unchanged(source: Path, db: Path, needle: str) -> str:
    before = file_digest(db)
    code, err = run_load(source, db)
    assert code == 1, err
    assert needle in err
    assert "rejected" in err
    assert file_digest(db) == before
    return err


# --- files that cannot be read: the whole source is rejected, the warehouse untouched -----------------------


def test_ragged_row(tmp_path: Path, loaded_db: Path) -> None:
    bad = HAND["employers"] + ["E3,Gamma,Retail,1-49,CA,extra"]
    err = assert_rejected_unchanged(variant(tmp_path, employers=bad), loaded_db, "employers.csv")
    assert "line 4" in err and "ragged row" in err


def test_missing_required_column(tmp_path: Path, loaded_db: Path) -> None:
    bad = [",".join(line.split(",")[:2] + line.split(",")[3:]) for line in HAND["micro_internships"]]  # no title
    err = assert_rejected_unchanged(variant(tmp_path, micro_internships=bad), loaded_db, "micro_internships.csv")
    assert "missing required column title" in err


def test_bad_encoding(tmp_path: Path, loaded_db: Path) -> None:
    source = variant(tmp_path)
    (source / "students.csv").write_bytes("\n".join(HAND["students"]).encode("utf-8") + b"\nS9,U\xe9,x,y,junior\n")
    err = assert_rejected_unchanged(source, loaded_db, "students.csv")
    assert "not UTF-8" in err and "line 9" in err


def test_empty_file(tmp_path: Path, loaded_db: Path) -> None:
    source = variant(tmp_path)
    (source / "offers.csv").write_text("")
    err = assert_rejected_unchanged(source, loaded_db, "offers.csv")
    assert "empty file" in err


def test_header_only_file_is_an_empty_table(tmp_path: Path, loaded_db: Path) -> None:
    source = variant(tmp_path, offers=HAND["offers"][:1])
    code, err = run_load(source, loaded_db)
    assert code == 0, err
    assert "offers.csv: a header and no rows: an empty table, nothing loaded" in " ".join(err.split())
    con = duckdb.connect(str(loaded_db), read_only=True)
    assert con.sql("select count(*) from offers").fetchall()[0][0] == len(HAND["offers"]) - 1  # kept as they were
    con.close()


def test_unknown_file(tmp_path: Path, loaded_db: Path) -> None:
    source = variant(tmp_path)
    (source / "interns.csv").write_text("a,b\n1,2\n")
    err = assert_rejected_unchanged(source, loaded_db, "interns.csv")
    assert "unknown entity" in err


def test_any_subset_whose_references_resolve_is_a_first_load(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    code, err = run_load(write_source(tmp_path / "partial", HAND, only=("students", "employers")), db)
    assert code == 0, err


def test_a_first_load_whose_references_do_not_resolve_creates_nothing(tmp_path: Path) -> None:
    source = write_source(tmp_path / "partial", HAND, only=("students", "applications"))
    db = tmp_path / "new.duckdb"
    code, err = run_load(source, db)
    assert code == 1 and "applications.csv (9 of 9 rows)" in err
    assert "no warehouse was created" in " ".join(err.split())
    assert not db.exists() and not list(tmp_path.glob("new.duckdb*"))


# --- rows that break a rule: quarantined with file, line, column, rule and value -----------------------------


def quarantine(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql("select file, line, column_name, rule, value from quarantine order by file, line, column_name"
                       ).fetchall()
    finally:
        con.close()


def load_lenient(source: Path, db: Path) -> tuple[int, str]:
    # The hand-built files are tiny: one bad row is over 5%, so these tests raise the threshold.
    return run_load(source, db, "--max-bad-rows", "1")


def test_bad_enum(tmp_path: Path) -> None:
    bad = HAND["students"][:2] + ["S2,U1,Engineering,Computer Science,sophmore,2025-06-30,no,no,Man,White"] + \
        HAND["students"][3:]
    db = tmp_path / "w.duckdb"
    code, err = load_lenient(variant(tmp_path, students=bad), db)
    assert code == 0, err
    assert ("students.csv", 3, "class_level", "in set [first_year, sophomore, junior, senior, graduate, alumni]",
            "sophmore") in quarantine(db)
    assert "S2" not in ids(db, "students", "student_id")
    # Cascade: S2's applications, their placements, offers and assessments are quarantined as children.
    assert ids(db, "applications", "application_id") == {"A1", "A2", "A5", "A6", "A7", "A8"}
    assert ids(db, "placements", "placement_id") == {"PL1", "PL2", "PL4", "PL5"}
    reasons = {(f, c, r) for f, _, c, r, _ in quarantine(db)}
    assert ("applications.csv", "student_id", "references students.student_id: missing or quarantined") in reasons
    assert ("placements.csv", "application_id",
            "references applications.application_id: missing or quarantined") in reasons
    assert "students.csv" in err


def test_bad_date_and_timestamp(tmp_path: Path) -> None:
    students = HAND["students"].copy()
    students[1] = students[1].replace("2026-05-15", "2026-13-45")
    apps = HAND["applications"].copy()
    apps[8] = apps[8].replace("2025-02-04T12:00:00Z", "04/02/2025")  # A8
    db = tmp_path / "w.duckdb"
    code, _ = load_lenient(variant(tmp_path, students=students, applications=apps), db)
    assert code == 0
    rows = quarantine(db)
    assert ("students.csv", 2, "graduation_date", "type: not a valid date", "2026-13-45") in rows
    assert ("applications.csv", 9, "applied_at", "type: not a valid timestamp", "04/02/2025") in rows
    assert "A8" not in ids(db, "applications", "application_id")


def test_out_of_range_number(tmp_path: Path) -> None:
    projects = HAND["micro_internships"].copy()
    projects[3] = projects[3].replace(",8,100,", ",401,100,")  # P3 estimated_hours
    placements = HAND["placements"].copy()
    placements[1] = placements[1].replace(",5,4,3", ",6,4,3")  # PL1 employer_rating
    db = tmp_path / "w.duckdb"
    code, _ = load_lenient(variant(tmp_path, micro_internships=projects, placements=placements), db)
    assert code == 0
    rows = quarantine(db)
    assert ("micro_internships.csv", 4, "estimated_hours", "between 1 and 400", "401") in rows
    assert ("placements.csv", 2, "employer_rating", "between 1 and 5", "6") in rows


def test_duplicate_key_quarantines_every_row_of_it(tmp_path: Path) -> None:
    employers = HAND["employers"] + ["E2,Beta Bank Again,Finance,5000+,IL"]
    db = tmp_path / "w.duckdb"
    code, _ = load_lenient(variant(tmp_path, employers=employers), db)
    assert code == 0
    rows = [r for r in quarantine(db) if r[0] == "employers.csv"]
    assert [(r[1], r[2], r[3]) for r in rows] == [(3, "employer_id", "unique"), (4, "employer_id", "unique")]
    assert ids(db, "employers", "employer_id") == {"E1"}
    assert ids(db, "micro_internships", "project_id") == {"P1", "P2", "P5"}  # P3, P4 belonged to E2


def test_orphan_reference(tmp_path: Path) -> None:
    apps = HAND["applications"] + ["A10,S99,P1,2025-01-12T10:00:00Z,platform,submitted,"]
    db = tmp_path / "w.duckdb"
    code, _ = load_lenient(variant(tmp_path, applications=apps), db)
    assert code == 0
    assert ("applications.csv", 11, "student_id", "references students.student_id: missing or quarantined",
            "S99") in quarantine(db)
    assert count(db, "applications") == 9


def test_placement_rules_across_files(tmp_path: Path) -> None:
    placements = HAND["placements"] + [
        "PL7,A4,2025-03-10,2025-03-20,completed,5,,,",  # A4 was rejected
        "PL8,A8,2025-01-01,,in_progress,,,,",  # A8 is not selected either, and starts before it was applied
    ]
    placements[2] = "PL2,A2,2025-02-01,2025-03-10,completed,21.5,4,5,1"  # before A2's applied_at (02-03)
    db = tmp_path / "w.duckdb"
    code, _ = load_lenient(variant(tmp_path, placements=placements), db)
    assert code == 0
    reasons = {(r[1], r[3]) for r in quarantine(db)}
    assert (3, "started_on >= the application's applied_at date") in reasons
    assert (8, "application status must be selected") in reasons
    assert ids(db, "placements", "placement_id") == {"PL1", "PL3", "PL4", "PL5", "PL6"}


def test_completed_placement_needs_an_end(tmp_path: Path) -> None:
    placements = HAND["placements"].copy()
    placements[3] = "PL3,A3,2025-01-20,,completed,10,,,"
    db = tmp_path / "w.duckdb"
    code, _ = load_lenient(variant(tmp_path, placements=placements), db)
    assert code == 0
    assert ("placements.csv", 4, "ended_on", "not null when status==completed", None) in quarantine(db)


def test_too_many_bad_rows_rejects_the_source(tmp_path: Path, loaded_db: Path) -> None:
    employers = HAND["employers"] + ["E3,,Retail,1-49,CA"]  # 1 of 3 rows bad: over 5%
    before = file_digest(loaded_db)
    code, err = run_load(variant(tmp_path, employers=employers), loaded_db)
    assert code == 1
    assert "too many bad rows" in err and "employers.csv (1 of 3 rows)" in err
    assert file_digest(loaded_db) == before
    code, err = run_load(variant(tmp_path, employers=employers), loaded_db, "--max-bad-rows", "0.5")
    assert code == 0, err


def test_text_is_data_never_code(tmp_path: Path) -> None:
    employers = HAND["employers"] + ["E3,'; DROP TABLE students; --,Retail,1-49,CA",
                                     'E4,"=HYPERLINK(""http://x"",""y"")",Retail,1-49,CA']
    db = tmp_path / "w.duckdb"
    code, _ = run_load(variant(tmp_path, employers=employers), db)
    assert code == 0
    names = ids(db, "employers", "name")
    assert "'; DROP TABLE students; --" in names and '=HYPERLINK("http://x","y")' in names
    assert count(db, "students") == 7


def test_headers_are_case_insensitive_and_extra_columns_warn(tmp_path: Path) -> None:
    employers = [" Employer_ID ,NAME,Industry,size_band,state,notes"] + [f"{r},x" for r in HAND["employers"][1:]]
    db = tmp_path / "w.duckdb"
    code, err = run_load(variant(tmp_path, employers=employers), db)
    assert code == 0, err
    assert "ignored extra column notes" in err
    assert count(db, "employers") == 2


# --- idempotence, upserts, history, and a load killed half-way ------------------------------------------------

TABLES = ("students", "employers", "micro_internships", "project_skills", "applications", "placements",
          "skill_assessments", "offers", "first_destinations", "offer_attribution", "fact_applications",
          "student_destinations")


def snapshot(db: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: sorted(con.sql(f"select * from {t}").fetchall(), key=repr) for t in TABLES}
    finally:
        con.close()


def test_a_column_the_schema_gained_reaches_an_older_warehouse_at_its_next_load(tmp_path: Path,
                                                                               hand_source: Path) -> None:
    """A warehouse written before a column was declared (here: a contract column and a bookkeeping one taken away
    from a loaded warehouse) gets it at the next load, filled from the source, without anyone registering it."""
    db = tmp_path / "w.duckdb"
    assert load(hand_source, db).ok
    con = duckdb.connect(str(db))
    con.execute("alter table students drop column race_ethnicity")
    con.execute("alter table load_files drop column warnings")
    con.close()
    result = load(hand_source, db)
    assert result.ok, result.reason
    con = duckdb.connect(str(db), read_only=True)
    assert con.sql("select race_ethnicity from students where student_id = 'S4'").fetchall() == [
        ("Black or African American",)]
    assert "warnings" in [row[0] for row in con.sql("describe load_files").fetchall()]
    con.close()


def test_loading_twice_gives_the_same_warehouse(tmp_path: Path, hand_source: Path) -> None:
    db = tmp_path / "w.duckdb"
    assert load(hand_source, db).ok
    first = snapshot(db)
    assert load(hand_source, db).ok
    assert snapshot(db) == first
    con = duckdb.connect(str(db), read_only=True)
    history = con.sql("select load_id, status, rows_read, rows_loaded, rows_quarantined from load_history "
                      "order by load_id").fetchall()
    assert history == [(1, "loaded", 48, 48, 0), (2, "loaded", 48, 48, 0)]
    files = con.sql("select entity, sha256, rows_read from load_files where load_id = 2 and entity = 'students'"
                    ).fetchall()
    assert files == [("students", file_digest(hand_source / "students.csv"), 7)]


def test_later_partial_source_upserts_by_key(tmp_path: Path, loaded_db: Path) -> None:
    update = {
        "students": [HAND["students"][0], "S1,U3,Business,Marketing,senior,2026-05-15,yes,no,Woman,Asian"],
        "applications": [HAND["applications"][0], "A10,S5,P2,2025-02-05T10:00:00Z,networking,submitted,"],
    }
    code, err = run_load(write_source(tmp_path / "later", update), loaded_db)
    assert code == 0, err
    con = duckdb.connect(str(loaded_db), read_only=True)
    assert con.sql("select institution, class_level from students where student_id = 'S1'").fetchall() == [
        ("U3", "senior")]
    assert con.sql("select count(*) from students").fetchall() == [(7,)]
    assert con.sql("select count(*) from applications").fetchall() == [(10,)]
    # Derived tables follow: S1's applications are now grouped under U3.
    assert con.sql("select count(*) from fact_applications where institution = 'U3'").fetchall() == [(2,)]


def test_a_source_read_in_small_pieces_in_little_memory_loads_the_same_warehouse(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files read 4 KB at a time and the staging database held to 128 MB: the same rows, the same quarantine, down
    to every derived table (a later load on top included)."""
    from etl.generate import generate

    source = tmp_path / "generated"
    generate(source, students=1500, seed=4)
    with (source / "applications.csv").open("a") as handle:  # an orphan, a bad enum and a bad timestamp
        handle.write("X1,S-nobody,P000001,2025-01-12T10:00:00Z,platform,submitted,\n"
                     "X2,S000001,P000001,2025-01-12T10:00:00Z,carrier pigeon,submitted,\n"
                     "X3,S000001,P000001,12/01/2025,platform,submitted,\n")
    later = write_source(tmp_path / "later", {"students": [HAND["students"][0], "S000002,U9,Arts,History,senior,"
                                                           "2026-05-15,yes,no,Woman,Asian"]})
    whole = tmp_path / "whole.duckdb"
    assert load(source, whole, max_bad_rows=1).ok and load(later, whole).ok
    monkeypatch.setattr("etl.ingest.read.CHUNK_BYTES", 4096)
    monkeypatch.setattr("etl.ingest.read.QUOTED_ROWS", 50)
    monkeypatch.setattr("etl.ingest.load.LOAD_MEMORY", "128MB")
    pieces = tmp_path / "pieces.duckdb"
    (tmp_path / ".pieces.duckdb.spill-99999999").mkdir()  # left by a load that was killed
    assert load(source, pieces, max_bad_rows=1).ok and load(later, pieces).ok
    assert snapshot(pieces) == snapshot(whole)
    for table in ("quarantine", "expectation_results", "outcome_report", "load_files"):
        both = [sorted(duckdb.connect(str(db), read_only=True).sql(f"select * from {table}").fetchall(), key=repr)
                for db in (whole, pieces)]
        assert both[0] == both[1], table
    con = duckdb.connect(str(pieces), read_only=True)
    try:
        quarantined = con.sql("select line, column_name, value from quarantine order by line").fetchall()
        assert [(c, v) for _, c, v in quarantined] == [
            ("student_id", "S-nobody"), ("channel", "carrier pigeon"), ("applied_at", "12/01/2025")]
    finally:
        con.close()
    assert not list(tmp_path.glob(".*spill*"))  # the staging database's spill folder is gone, and the stale one


# --- every format reads the same ------------------------------------------------------------------------------


def test_every_format_loads_the_same_warehouse(tmp_path: Path, hand_source: Path) -> None:
    import polars as pl

    csv_db = tmp_path / "csv.duckdb"
    assert load(hand_source, csv_db).ok
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    writers = {
        "students": lambda f, p: f.write_parquet(p.with_suffix(".parquet")),
        "employers": lambda f, p: f.write_json(p.with_suffix(".json")),
        "micro_internships": lambda f, p: f.write_ndjson(p.with_suffix(".jsonl")),
        "applications": lambda f, p: f.write_excel(p.with_suffix(".xlsx")),
    }
    for name in HAND:
        frame = pl.read_csv(hand_source / f"{name}.csv", infer_schema=False)
        target = mixed / name
        writers.get(name, lambda f, p: f.write_csv(p.with_suffix(".csv")))(frame, target)
    mixed_db = tmp_path / "mixed.duckdb"
    result = load(mixed, mixed_db)
    assert result.ok, result.reason
    assert snapshot(mixed_db) == snapshot(csv_db)


def test_spreadsheet_rows_are_reported_by_sheet_row(tmp_path: Path) -> None:
    import polars as pl

    source = variant(tmp_path)
    frame = pl.read_csv(source / "applications.csv", infer_schema=False)
    frame = frame.with_columns(pl.when(pl.col("application_id") == "A4").then(pl.lit("maybe"))
                               .otherwise(pl.col("channel")).alias("channel"))
    (source / "applications.csv").unlink()
    frame.write_excel(source / "applications.xlsx")
    db = tmp_path / "w.duckdb"
    code, _ = load_lenient(source, db)
    assert code == 0
    assert ("applications.xlsx", 5, "channel", "in set [platform, career_services, networking, referral, direct]",
            "maybe") in quarantine(db)


def test_quoted_fields_with_commas_and_a_ragged_row(tmp_path: Path, loaded_db: Path) -> None:
    good = HAND["employers"] + ['E3,"Gamma, Inc.",Retail,1-49,CA']
    db = tmp_path / "quoted.duckdb"
    code, _ = run_load(variant(tmp_path, employers=good), db)
    assert code == 0 and "Gamma, Inc." in ids(db, "employers", "name")
    bad = good + ['E4,"Delta, LLC",Retail,1-49']
    err = assert_rejected_unchanged(variant(tmp_path, employers=bad), loaded_db, "employers.csv")
    assert "line 5" in err and "ragged row: 4 fields" in err


def test_reading_ahead_keeps_order_errors_and_stops() -> None:
    """`ahead` gives the items in order, raises a maker's error where its item would have come, and, when the
    caller stops early (an error while staging), stops the maker without waiting for the rest."""
    import threading

    from etl.ingest.load import ahead

    assert list(ahead(iter(range(50)))) == list(range(50))

    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise FileRejected("applications.csv", "line 9", "ragged row")

    got: list[int] = []
    with pytest.raises(FileRejected, match="line 9"):
        for item in ahead(failing()):
            got.append(item)
    assert got == [1, 2]

    made: list[int] = []

    def endless() -> Iterator[int]:
        for n in range(10**9):
            made.append(n)
            yield n

    for n in ahead(endless()):
        if n == 3:
            break
    assert len(made) <= 6  # the maker ran at most two items ahead, then stopped
    assert not any(t.name == "mio-read-ahead" for t in threading.enumerate())


def test_references_looked_up_by_the_keys_named_give_the_same_quarantine(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A small file that points at a large one (placements at applications) looks up only the keys it names
    (`NAMED_KEYS_SHARE`). Never, as chosen, or always: the same quarantine and tables, for a first load with broken
    references and quarantined targets, and for a second load that points into the warehouse."""
    import polars as pl

    import etl.ingest.load
    from etl.generate import generate

    first, second = tmp_path / "first", tmp_path / "second"
    generate(first, students=300, seed=5)
    apps = pl.read_csv(first / "applications.csv", infer_schema=False)
    places = pl.read_csv(first / "placements.csv", infer_schema=False)
    unselected = apps.filter(pl.col("status") == "rejected")["application_id"][0]
    placed = places["application_id"].to_list()
    apps = apps.with_columns(pl.when(pl.col("application_id") == placed[0]).then(pl.lit("pigeon"))
                             .otherwise(pl.col("channel")).alias("channel"))  # quarantined: its placement follows
    apps.write_csv(first / "applications.csv")
    broken = {1: "A-NOWHERE", 2: unselected}
    places = places.with_columns(pl.Series("application_id", [broken.get(i, a) for i, a in enumerate(placed)]))
    places.write_csv(first / "placements.csv")
    second.mkdir()
    later = places.slice(3, 5).with_columns(pl.col("placement_id") + "-2")
    later = later.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("A-ELSEWHERE"))
                               .otherwise(pl.col("application_id")).alias("application_id"))
    later.write_csv(second / "placements.csv")

    seen = []
    for share in (0.0, etl.ingest.load.NAMED_KEYS_SHARE, 1e9):
        monkeypatch.setattr(etl.ingest.load, "NAMED_KEYS_SHARE", share)
        db = tmp_path / f"w{share}.duckdb"
        assert load(first, db, max_bad_rows=1.0).status == "loaded"
        assert load(second, db, max_bad_rows=1.0).status == "loaded"
        with duckdb.connect(str(db), read_only=True) as con:
            seen.append((con.sql("select load_id, entity, line, column_name, rule, value from quarantine "
                                 "order by all").fetchall(),
                         con.sql("select placement_id, application_id from placements order by all").fetchall()))
    assert seen[0] == seen[1] == seen[2]
    rules = {(r[0], r[3], r[4]) for r in seen[0][0] if r[1] == "placements"}
    assert rules >= {(1, "application_id", "references applications.application_id: missing or quarantined"),
                     (1, "application_id", "application status must be selected"),
                     (2, "application_id", "references applications.application_id: missing or quarantined")}
