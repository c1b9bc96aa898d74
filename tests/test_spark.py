"""The Spark engine (issue 12, part 2) against the DuckDB engine: the same source loaded both ways gives the same
tables, derived tables, stored outcome tables and quarantine, and `mio report` gives the same rows on each, to the
last digit. Spark runs for real, in local mode (pyspark from PyPI, Java 17 from Debian); without Java the tests are
skipped and say so."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from etl.generate import generate
from etl.ingest.load import LoadResult
from etl.ingest.schema import BESIDE_LOADS
from etl.pipeline import load
from tests.conftest import HAND, REAL, write_source
from tests.test_rules import assert_same_validation, every_expectation_broken

pytest.importorskip("pyspark", reason="the Spark engine's tests need pyspark (the spark extra)")

from etl.spark.lake import POINTER, Lake  # noqa: E402
from etl.spark.load import load_lake  # noqa: E402
from etl.spark.session import java_available  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.spark,
    pytest.mark.skipif(not java_available(), reason="Spark's local mode needs Java 17: apt-get install "
                                                    "openjdk-17-jre-headless (.ci/run installs it)"),
]

# Written at the load's own moment, or naming the load's own files: not the same in two loads.
MOMENTS = {"load_history": ["started_at", "finished_at"]}


def _lake_tables(lake: Path) -> dict[str, pl.DataFrame]:
    """Every table of the lake's current version, read by Polars (no Spark needed to read a lake)."""
    return {name: pl.read_parquet(folder / "*.parquet") for name, folder in Lake(lake).tables().items()}


def _same_tables(lake: Path, db: Path, varying: list[str] | None = None) -> None:
    """Every table of the lake's current version equals the warehouse's, row for row, value for value (but the
    load history's moments, and its `varying` columns)."""
    ours = _lake_tables(lake)
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = {r[0] for r in con.sql("select table_name from duckdb_tables()").fetchall()}
        assert set(ours) == names - set(BESIDE_LOADS)
        for name, frame in ours.items():
            drop = MOMENTS.get(name, []) + (varying or []) * (name == "load_history")
            theirs = con.sql(f"select * from {name}").pl().drop(drop)
            frame = frame.drop(drop)
            assert frame.columns == theirs.columns, name
            assert frame.height == theirs.height, name
            frame = frame.cast(theirs.schema)  # type: ignore[arg-type] - sums are decimals in DuckDB
            # Every value equal; a mean of floating-point values only to 1e-12 of itself, for a sum of floats
            # depends on the order the rows are added in, which is Spark's partitioning (the stored report rows
            # and every figure `mio report` gives, rounded as the contract says, are compared exactly elsewhere).
            assert_frame_equal(frame.sort(pl.all()), theirs.sort(pl.all()), check_exact=False, rel_tol=1e-12,
                               abs_tol=0.0)
    finally:
        con.close()


def _quarantine(frame: pl.DataFrame) -> list[tuple]:
    return sorted(frame.drop("record").with_columns(pl.col("line").cast(pl.Int64)).rows(),
                  key=lambda row: tuple(str(v) for v in row))


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory, spark: object) -> tuple[Path, LoadResult, LoadResult]:
    """The hand-built source loaded both ways, once: FOLDER/hand, FOLDER/lake and FOLDER/w.duckdb, with each load's
    result. Tests read them; a test that loads again works on a copy of the lake."""
    folder = tmp_path_factory.mktemp("hand")
    source = write_source(folder / "hand", HAND)
    return folder, load_lake(source, folder / "lake", spark), load(source, folder / "w.duckdb")


def test_hand_built_source_gives_the_same_warehouse(hand: tuple[Path, LoadResult, LoadResult]) -> None:
    folder, ours, theirs = hand
    assert ours.status == theirs.status == "loaded"
    assert ours.load_id == theirs.load_id == 1
    _same_tables(folder / "lake", folder / "w.duckdb")


def _break(source: Path) -> None:
    """Bad rows of every kind the checks catch: a value that does not parse, a broken expectation, a reference to
    nothing, a placement whose application was not selected, a repeated key."""
    def edit(name: str, change: callable) -> None:  # type: ignore[valid-type]
        path = source / f"{name}.csv"
        lines = path.read_text().splitlines()
        change(lines)
        path.write_text("\n".join(lines) + "\n")

    def students(lines: list[str]) -> None:
        fields = lines[3].split(",")
        fields[5] = "31/12/2025"  # graduation_date: not a date
        lines[3] = ",".join(fields)
        lines.append(lines[1])  # student_id repeated

    def applications(lines: list[str]) -> None:
        fields = lines[5].split(",")
        fields[1] = "NOBODY"  # a student that does not exist
        lines[5] = ",".join(fields)
        fields = lines[6].split(",")
        fields[4] = "carrier_pigeon"  # not a channel
        lines[6] = ",".join(fields)

    def placements(lines: list[str]) -> None:
        fields = lines[2].split(",")
        fields[5] = "11"  # hours_logged fine, employer_rating 11: out of range
        fields[6] = "11"
        lines[2] = ",".join(fields)

    edit("students", students)
    edit("applications", applications)
    edit("placements", placements)


@pytest.fixture
def read_there(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int | None]]:
    """CSV files read in blocks of 16 KB, and each file the Spark engine stages with the rows its executors read
    (None: read by the driver)."""
    import etl.ingest.read
    import etl.spark.read

    monkeypatch.setattr(etl.ingest.read, "CHUNK_BYTES", 16 << 10)
    seen: list[tuple[str, int | None]] = []
    original = etl.spark.read.stage_blocks

    def spy(*args: object) -> int | None:
        rows = original(*args)  # type: ignore[arg-type]
        seen.append((args[3].name, rows))  # type: ignore[attr-defined]
        return rows

    monkeypatch.setattr(etl.spark.read, "stage_blocks", spy)
    return seen


def test_a_generated_source_read_on_the_executors_with_bad_rows_a_ragged_one_and_a_second_load(
        tmp_path: Path, spark: object, monkeypatch: pytest.MonkeyPatch,
        read_there: list[tuple[str, int | None]]) -> None:
    """A generated source with bad rows of every kind the checks catch, read in blocks of 16 KB: its unquoted CSV
    files are read, split and cast by Spark's executors, a block per task, to the same lake and quarantine as the
    DuckDB engine's warehouse (which reads the same blocks one after the other). A ragged row in a late block rejects
    the load with the DuckDB engine's reason and leaves the lake as it was; MIO_SPARK_READ=driver reads every file in
    the driver, to the same rows and quarantine. A second load on top: rows with the same keys replace the old ones,
    new ones are added, history grows."""
    source = tmp_path / "source"
    generate(source, students=300, seed=11)
    _break(source)
    path = source / "applications.csv"
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    late = lines[-20].split(",")
    late[header.index("applied_at")] = "yesterday"  # a value that does not parse, far from the first block
    lines[-20] = ",".join(late)
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size > 4 * (16 << 10)

    ours = load_lake(source, tmp_path / "lake", spark)
    theirs = load(source, tmp_path / "w.duckdb")
    assert ours.status == theirs.status == "loaded", (ours.reason, theirs.reason)
    assert theirs.quarantine.height >= 5
    there = {name for name, rows in read_there if rows is not None}
    assert {"applications.csv", "students.csv"} <= there, read_there
    assert dict(read_there)["applications.csv"] == next(f.rows_read for f in theirs.files
                                                        if f.file == "applications.csv")
    _same_tables(tmp_path / "lake", tmp_path / "w.duckdb")
    assert _quarantine(ours.quarantine) == _quarantine(theirs.quarantine)
    assert "yesterday" in set(ours.quarantine["value"].drop_nulls())
    assert [(f.entity, f.file, f.rows_read, f.rows_quarantined) for f in ours.files] == \
        [(f.entity, f.file, f.rows_read, f.rows_quarantined) for f in theirs.files]

    lines[-7] += ",one too many"
    path.write_text("\n".join(lines) + "\n")
    ragged_lake = load_lake(source, tmp_path / "lake", spark)
    ragged_duckdb = load(source, tmp_path / "w.duckdb")
    assert ragged_lake.status == ragged_duckdb.status == "rejected"
    assert ragged_lake.reason == ragged_duckdb.reason and "ragged row" in (ragged_lake.reason or "")
    assert Lake(tmp_path / "lake").current().name == "000001"  # type: ignore[union-attr]

    read_there.clear()
    monkeypatch.setenv("MIO_SPARK_READ", "driver")
    lines[-7] = lines[-7].removesuffix(",one too many")
    path.write_text("\n".join(lines) + "\n")
    by_driver = load_lake(source, tmp_path / "lake2", spark, dry_run=True)  # the rows as read (writing: above)
    assert by_driver.ok and all(rows is None for _, rows in read_there), read_there
    assert _quarantine(by_driver.quarantine) == _quarantine(theirs.quarantine)
    assert [(f.file, f.rows_read, f.rows_quarantined) for f in by_driver.files] == \
        [(f.file, f.rows_read, f.rows_quarantined) for f in theirs.files]
    monkeypatch.delenv("MIO_SPARK_READ")

    second = tmp_path / "second"
    generate(second, students=120, seed=12)
    for path in second.iterdir():
        if path.stem not in ("students", "employers", "micro_internships"):
            path.unlink()
    ours = load_lake(second, tmp_path / "lake", spark)
    theirs = load(second, tmp_path / "w.duckdb")
    assert ours.status == theirs.status == "loaded"
    assert ours.load_id == theirs.load_id == 2
    _same_tables(tmp_path / "lake", tmp_path / "w.duckdb")
    assert len(list((tmp_path / "lake" / "versions").iterdir())) == 2


def test_quoted_files_are_read_on_the_executors(tmp_path: Path, spark: object,
                                              read_there: list[tuple[str, int | None]]) -> None:
    """A source written as many exports write it, every field quoted, with a value holding a comma and newlines and
    blank lines between records: with blocks of 16 KB its large files are read on the executors (blocks cut between
    records), and the lake and quarantine are the DuckDB engine's."""
    source = tmp_path / "source"
    generate(source, students=300, seed=13)
    for path in source.glob("*.csv"):
        frame = pl.read_csv(path, infer_schema=False)
        if path.stem == "applications":
            late = frame.height - 30
            frame = frame.with_columns(pl.when(pl.int_range(pl.len()) == late)
                                       .then(pl.lit("late,\nvery late\r\nindeed")).otherwise(pl.col("applied_at"))
                                       .alias("applied_at"))
        text = frame.write_csv(quote_style="always", line_terminator="\r\n")
        path.write_text(text.replace("\r\n", "\r\n\r\n", 3), newline="")
    assert (source / "applications.csv").stat().st_size > 4 * (16 << 10)

    ours = load_lake(source, tmp_path / "lake", spark)
    theirs = load(source, tmp_path / "w.duckdb")
    assert ours.status == theirs.status == "loaded", (ours.reason, theirs.reason)
    there = {name for name, rows in read_there if rows is not None}
    assert {"applications.csv", "students.csv"} <= there, read_there
    _same_tables(tmp_path / "lake", tmp_path / "w.duckdb")
    assert _quarantine(ours.quarantine) == _quarantine(theirs.quarantine)
    bad = ours.quarantine.filter(pl.col("value") == "late,\nvery late\r\nindeed")
    assert bad["column"].to_list() == ["applied_at"]


@pytest.mark.skipif(not REAL.exists(), reason="the real exports in ../shared/real are not here")
def test_real_exports_through_a_mapping_give_the_same_lake(tmp_path: Path, spark: object) -> None:
    """Real exports in other shapes, loaded through a mapping on both engines: the campus-placement file (students
    and first destinations from one file, the mapping inside the source folder) and Internshala's postings through
    the shipped preset with one duration left out of its map, so that rows land in quarantine with their lines. The
    lake equals the warehouse, table for table, with the same quarantine and the mapping in the load history."""
    from tests.test_mapping import PLACEMENT_MAPPING, PRESETS, real_copy, write

    placement = real_copy(tmp_path / "placement", "Placement_Data_Full_Class.csv")
    write(placement, "mapping.yaml", PLACEMENT_MAPPING)
    postings = real_copy(tmp_path / "postings", "internshala_internships_2021-06.csv")
    partial = write(tmp_path, "m.yaml", (PRESETS / "internshala_postings.yaml").read_text()
                    .replace(', "4 Months": "160"', ""))
    for name, source, mapping in (("placement", placement, None), ("postings", postings, partial)):
        ours = load_lake(source, tmp_path / f"{name}-lake", spark, mapping=mapping, max_bad_rows=1)
        theirs = load(source, tmp_path / f"{name}.duckdb", mapping=mapping, max_bad_rows=1)
        assert ours.status == theirs.status == "loaded", (ours.reason, theirs.reason)
        _same_tables(tmp_path / f"{name}-lake", tmp_path / f"{name}.duckdb")
        assert _quarantine(ours.quarantine) == _quarantine(theirs.quarantine)
        history = _lake_tables(tmp_path / f"{name}-lake")["load_history"]
        assert history["mapping"].to_list() == [(mapping or placement / "mapping.yaml").read_text()]
    assert theirs.quarantine.height > 0  # the postings' left-out duration


def test_great_expectations_on_spark_dataframes_quarantines_as_the_compiled_suites(
        tmp_path: Path, spark: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--validator gx` on the Spark engine runs the suites through Great Expectations' Spark execution engine on
    the staged Spark DataFrames: the same quarantine, summaries and counts as the DuckDB engine's compiled suites,
    with every expectation of every suite broken and values of the wrong type."""
    import etl.ingest.validate

    given: list[str] = []
    original = etl.ingest.validate.validate

    def spy(entity: str, typed: object) -> object:
        given.append(type(typed).__module__)
        return original(entity, typed)

    monkeypatch.setattr(etl.ingest.validate, "validate", spy)
    source = every_expectation_broken(tmp_path / "broken")
    ours = load_lake(source, tmp_path / "lake", spark, max_bad_rows=1, dry_run=True, validator="gx")
    assert len(given) == 9 and all(module.startswith("pyspark.sql") for module in given), given  # not pandas
    theirs = load(source, tmp_path / "w.duckdb", max_bad_rows=1, dry_run=True)
    assert ours.ok and theirs.ok
    assert_same_validation(ours, theirs)
    assert theirs.quarantine.height > 100 and all(not e.success for e in theirs.expectations)


def test_a_failed_load_leaves_the_previous_version_whole(tmp_path: Path, spark: object,
                                                         hand: tuple[Path, LoadResult, LoadResult],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    source, lake = hand[0] / "hand", tmp_path / "lake"
    shutil.copytree(hand[0] / "lake", lake)  # the hand-built source's first load
    before = (lake / POINTER).read_text()
    tables = {name: sorted(p.name for p in folder.iterdir()) for name, folder in Lake(lake).tables().items()}

    import etl.spark.load as spark_load

    def broken(*_args: object) -> None:
        raise RuntimeError("the job died while building the derived tables")

    monkeypatch.setattr(spark_load, "build_lake_tables", broken)
    with pytest.raises(RuntimeError, match="the job died"):
        load_lake(source, lake, spark)
    assert (lake / POINTER).read_text() == before
    assert {name: sorted(p.name for p in folder.iterdir()) for name, folder in Lake(lake).tables().items()} == tables
    assert [p.name for p in (lake / "versions").iterdir()] == ["000001"]
    assert not any((lake / "_staging").iterdir())

    monkeypatch.undo()
    killed = lake / "_staging" / "999999999"  # the staging folder of a load whose process is gone
    (killed / "typed_students").mkdir(parents=True)
    again = load_lake(source, lake, spark)
    assert not killed.exists()
    assert again.ok and again.load_id == 2
    shutil.rmtree(lake)
