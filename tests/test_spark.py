"""The Spark engine (issue 12, part 2) against the DuckDB engine: the same source loaded both ways gives the same
tables, derived tables, stored outcome tables and quarantine, and `mio report` gives the same rows on each, to the
last digit. Spark runs for real, in local mode (pyspark from PyPI, Java 17 from Debian); without Java the tests are
skipped and say so."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

from dashboard.registry import DIRECTOR_DATA_PAGES
from etl.cli import main
from etl.generate import Knobs, generate
from etl.metrics.columns import DIMENSIONS, PROJECT_ATTRIBUTES
from etl.pipeline import load
from tests.conftest import HAND, REAL, write_source
from tests.test_dashboard import frame_of, open_page, shown
from tests.test_rules import assert_same_validation, every_expectation_broken

pytest.importorskip("pyspark", reason="the Spark engine's tests need pyspark (the spark extra)")

from etl.spark.lake import POINTER, Lake, duckdb_catalog  # noqa: E402
from etl.spark.load import load_lake  # noqa: E402
from etl.spark.session import java_available, spark_session  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.spark,
    pytest.mark.skipif(not java_available(), reason="Spark's local mode needs Java 17: apt-get install "
                                                    "openjdk-17-jre-headless (.ci/run installs it)"),
]

# Written at the load's own moment, or naming the load's own files: not the same in two loads.
MOMENTS = {"load_history": ["started_at", "finished_at"]}


@pytest.fixture(scope="module")
def spark():  # noqa: ANN201 - a SparkSession
    session = spark_session()
    session.sparkContext.setLogLevel("ERROR")
    yield session


def _lake_tables(lake: Path) -> dict[str, pl.DataFrame]:
    """Every table of the lake's current version, read by Polars (no Spark needed to read a lake)."""
    return {name: pl.read_parquet(folder / "*.parquet") for name, folder in Lake(lake).tables().items()}


def _same_tables(lake: Path, db: Path) -> None:
    """Every table of the lake's current version equals the warehouse's, row for row, value for value."""
    ours = _lake_tables(lake)
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = {r[0] for r in con.sql("select table_name from duckdb_tables()").fetchall()}
        assert set(ours) == names - {"report_deliveries"}
        for name, frame in ours.items():
            theirs = con.sql(f"select * from {name}").pl().drop(MOMENTS.get(name, []))
            frame = frame.drop(MOMENTS.get(name, []))
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


def test_hand_built_source_gives_the_same_warehouse(tmp_path: Path, spark: object) -> None:
    source = write_source(tmp_path / "hand", HAND)
    ours = load_lake(source, tmp_path / "lake", spark)
    theirs = load(source, tmp_path / "w.duckdb")
    assert ours.status == theirs.status == "loaded"
    assert ours.load_id == theirs.load_id == 1
    _same_tables(tmp_path / "lake", tmp_path / "w.duckdb")


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


def test_generated_source_with_bad_rows_and_a_second_load(tmp_path: Path, spark: object) -> None:
    first = tmp_path / "first"
    generate(first, students=300, seed=11)
    _break(first)
    ours = load_lake(first, tmp_path / "lake", spark)
    theirs = load(first, tmp_path / "w.duckdb")
    assert ours.status == theirs.status == "loaded", (ours.reason, theirs.reason)
    assert theirs.quarantine.height >= 5
    assert _quarantine(ours.quarantine) == _quarantine(theirs.quarantine)
    assert [(f.entity, f.rows_read, f.rows_quarantined) for f in ours.files] == \
           [(f.entity, f.rows_read, f.rows_quarantined) for f in theirs.files]
    _same_tables(tmp_path / "lake", tmp_path / "w.duckdb")

    # A second load on top: rows with the same keys replace the old ones, new ones are added, history grows.
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


def test_large_files_are_read_on_the_executors(tmp_path: Path, spark: object, monkeypatch: pytest.MonkeyPatch,
                                             read_there: list[tuple[str, int | None]]) -> None:
    """With blocks of 16 KB, the unquoted CSV files of a generated source (bad rows in several blocks) are read, split
    and cast by Spark's executors, a block per task: the same lake and quarantine as the DuckDB engine's warehouse
    (which reads the same blocks one after the other). A ragged row in a late block rejects the load with the DuckDB
    engine's reason, and leaves the lake as it was; MIO_SPARK_READ=driver reads every file in the driver."""
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
    there = {name for name, rows in read_there if rows is not None}
    assert {"applications.csv", "students.csv"} <= there, read_there
    assert dict(read_there)["applications.csv"] == next(f.rows_read for f in theirs.files
                                                        if f.file == "applications.csv")
    _same_tables(tmp_path / "lake", tmp_path / "w.duckdb")
    assert _quarantine(ours.quarantine) == _quarantine(theirs.quarantine)
    assert "yesterday" in set(ours.quarantine["value"].drop_nulls())
    assert [(f.file, f.rows_read, f.rows_quarantined) for f in ours.files] == \
        [(f.file, f.rows_read, f.rows_quarantined) for f in theirs.files]

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
    assert load_lake(source, tmp_path / "lake2", spark).ok
    assert all(rows is None for _, rows in read_there), read_there
    _same_tables(tmp_path / "lake2", tmp_path / "w.duckdb")


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


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, spark: object) -> Path:
    """A generated source loaded both ways: FOLDER/lake and FOLDER/w.duckdb; large enough, and with planted effects,
    for the adjusted comparisons to give figures."""
    folder = tmp_path_factory.mktemp("both")
    generate(folder / "source", students=6000, seed=3,
             knobs=Knobs(planted_remote_offer=0.08, planted_participation=0.1, planted_confounding=2.0))
    assert load_lake(folder / "source", folder / "lake", spark).ok
    assert load(folder / "source", folder / "w.duckdb").ok
    return folder


def test_mio_report_on_spark_equals_duckdb(both: Path) -> None:
    """`mio report --engine spark` gives the DuckDB engine's rows for every dimension and for destinations, and
    with --adjusted for every project attribute and for destinations; CSV too."""
    tmp_path = both
    runner = CliRunner()
    asks = ([["--by", d] for d in DIMENSIONS] + [["--metric", "destinations"]]
            + [["--by", d, "--adjusted"] for d in PROJECT_ATTRIBUTES] + [["--metric", "destinations", "--adjusted"]])
    estimated = 0
    for ask in asks:
        for min_cell in ("1", "10"):
            spark_rows = runner.invoke(main, ["report", *ask, "--engine", "spark", "--lake", str(tmp_path / "lake"),
                                              "--format", "json", "--min-cell", min_cell])
            duck_rows = runner.invoke(main, ["report", *ask, "--db", str(tmp_path / "w.duckdb"), "--format", "json",
                                             "--min-cell", min_cell])
            assert spark_rows.exit_code == duck_rows.exit_code == 0, (ask, spark_rows.output, duck_rows.output)
            assert json.loads(spark_rows.stdout) == json.loads(duck_rows.stdout), ask
            assert json.loads(duck_rows.stdout), ask
            estimated += sum(row.get("adjusted_offer_rate", row.get("adjusted_difference")) is not None
                             for row in json.loads(duck_rows.stdout))
    assert estimated >= 5  # the adjusted comparisons compared something
    for ask in (["--by", "channel"], ["--metric", "destinations"]):
        on_spark = runner.invoke(main, ["report", *ask, "--engine", "spark", "--lake", str(tmp_path / "lake"),
                                        "--format", "csv"])
        on_duckdb = runner.invoke(main, ["report", *ask, "--db", str(tmp_path / "w.duckdb"), "--format", "csv"])
        assert on_spark.exit_code == on_duckdb.exit_code == 0
        assert on_spark.stdout == on_duckdb.stdout and on_duckdb.stdout.count("\n") > 2, ask


def test_the_outcomes_report_from_a_lake(both: Path) -> None:
    """`mio report --out FILE --engine spark --lake L` writes the outcomes report from the lake (DuckDB reading its
    Parquet, as the dashboard does): the same document as from the warehouse, HTML and PDF."""
    runner = CliRunner()
    for suffix in ("html", "pdf"):
        written = {}
        for name, where in (("lake", ["--engine", "spark", "--lake", str(both / "lake")]),
                            ("warehouse", ["--db", str(both / "w.duckdb")])):
            out = both / f"{name}.{suffix}"
            result = runner.invoke(main, ["report", "--out", str(out), *where, "--industry", "Technology"])
            assert result.exit_code == 0, result.output
            written[name] = out.read_bytes()
        if suffix == "html":  # the same, but for the random ids Plotly gives its charts and the minute it was made
            varying = rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|Generated [0-9-]+ [0-9:]+ UTC"
            assert re.sub(varying, b"-", written["lake"]) == re.sub(varying, b"-", written["warehouse"])
            assert re.search(rb"Generated [0-9-]+ [0-9:]+ UTC", written["lake"])
            assert b"Technology" in written["lake"]
        else:
            assert written["lake"][:5] == b"%PDF-" and len(written["lake"]) > 5000


def test_a_failed_load_leaves_the_previous_version_whole(tmp_path: Path, spark: object,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    source = write_source(tmp_path / "hand", HAND)
    lake = tmp_path / "lake"
    assert load_lake(source, lake, spark).ok
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


def _settled(value: object) -> object:
    """Floating-point values to 12 significant digits, within any list, tuple or dict: a mean of floats stored by
    Spark differs from DuckDB's in the 16th digit (the rows are summed in another order); every shown digit is
    far above that."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, (list, tuple)):
        return type(value)(_settled(v) for v in value)
    if isinstance(value, dict):
        return {k: _settled(v) for k, v in value.items()}
    return value


def _page(at: object) -> dict:
    """What a page shows: its metrics, its tables' cells (but the moments of the loads) and its charts' data."""
    return _settled({"metrics": shown(at),
                     "tables": [frame_of(at, i).drop(MOMENTS["load_history"], strict=False).rows()
                                for i in range(len(at.dataframe))],
                     "charts": [json.loads(c.proto.spec)["data"] for c in at.get("plotly_chart")]})


@pytest.mark.parametrize("key", DIRECTOR_DATA_PAGES)
def test_the_dashboard_serves_a_lake_with_the_same_pages(both: Path, monkeypatch: pytest.MonkeyPatch,
                                                         key: str) -> None:
    """`mio serve --lake`: DuckDB reads the lake's Parquet through a catalog of views; every director's page shows
    what it shows on the DuckDB engine's warehouse."""
    catalog = duckdb_catalog(both / "lake")
    assert catalog == both / "lake" / "_duckdb" / "current.duckdb"
    on_lake = _page(open_page(catalog, monkeypatch, key))
    on_duckdb = _page(open_page(both / "w.duckdb", monkeypatch, key))
    assert on_lake == on_duckdb
    assert on_lake["metrics"] or on_lake["tables"] or on_lake["charts"], key


@pytest.fixture(scope="module")
def object_store(both: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - a URI
    """The `both` lake published (its files, then CURRENT) into a bucket of an S3 server on 127.0.0.1 (moto's, in
    this process); remote lakes' catalogs are kept in a temporary folder."""
    pytest.importorskip("s3fs", reason="object stores are read through fsspec (the lake extra)")
    pytest.importorskip("moto.server", reason="the object store tests need moto's S3 server")
    from bench.object_store import s3_server

    with s3_server() as fs, pytest.MonkeyPatch.context() as patch:
        patch.setenv("MIO_LAKE_CACHE", str(tmp_path_factory.mktemp("lake-cache")))
        fs.mkdir("mio-lakes")
        published = CliRunner().invoke(main, ["publish", "--lake", str(both / "lake"), "--to", "s3://mio-lakes/term"])
        assert published.exit_code == 0, published.output
        assert "published version 000001 to s3://mio-lakes/term" in published.output
        assert fs.cat_file(f"mio-lakes/term/{POINTER}") == (both / "lake" / POINTER).read_bytes()
        assert not [name for name in fs.find("mio-lakes/term") if name.endswith(".crc")]
        yield "s3://mio-lakes/term"


def test_a_lake_in_an_object_store_is_reported_as_the_warehouse(both: Path, object_store: str) -> None:
    """`mio report --lake s3://…` (and `--lake` a folder, without --engine spark): DuckDB reads the lake's Parquet
    (through fsspec from the store), and every dimension, destinations (plain and adjusted) and the outcomes report
    are the DuckDB engine's, to the last digit."""
    from etl.spark.lake import catalog_cache

    runner = CliRunner()
    asks = ([["--by", d] for d in DIMENSIONS] + [["--metric", "destinations"], ["--metric", "destinations",
                                                                                   "--adjusted"]])
    for ask in asks:
        remote = runner.invoke(main, ["report", *ask, "--lake", object_store, "--format", "json"])
        on_disk = runner.invoke(main, ["report", *ask, "--lake", str(both / "lake"), "--format", "json"])
        local = runner.invoke(main, ["report", *ask, "--db", str(both / "w.duckdb"), "--format", "json"])
        assert remote.exit_code == on_disk.exit_code == local.exit_code == 0, (ask, remote.output)
        assert json.loads(remote.stdout) == json.loads(on_disk.stdout) == json.loads(local.stdout), ask
        assert json.loads(local.stdout), ask
    catalogs = list(catalog_cache().glob("*/current.lake-uri"))
    assert [p.read_text().strip() for p in catalogs] == [object_store]  # kept on this machine, not in the bucket
    varying = rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|Generated [0-9-]+ [0-9:]+ UTC"
    written = {}
    for name, where in (("store", ["--lake", object_store]), ("warehouse", ["--db", str(both / "w.duckdb")])):
        out = both / f"{name}.html"
        result = runner.invoke(main, ["report", "--out", str(out), *where, "--industry", "Technology"])
        assert result.exit_code == 0, result.output
        written[name] = re.sub(varying, b"-", out.read_bytes())
    assert written["store"] == written["warehouse"] and b"Technology" in written["store"]


def test_a_lake_in_an_object_store_follows_its_pointer(both: Path, object_store: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """While `mio serve --lake s3://…` runs, the catalog moves when the store's CURRENT does (a new version was
    published there), and its follower stops with the server; `mio report --engine spark` reads this machine's copy
    of it; refusals say why: no lake at a URI, a load into a store or a report from one through Spark Connect,
    publishing no lake or to a folder."""
    import s3fs

    import etl.cli

    fs = s3fs.S3FileSystem()
    bucket = object_store.removeprefix("s3://")
    seen: dict[str, object] = {}

    def server(catalog: Path, _port: int) -> None:  # the dashboard's server, while it runs
        fs.copy(f"{bucket}/versions/000001", f"{bucket}/versions/000002", recursive=True)
        fs.pipe_file(f"{bucket}/{POINTER}", b"versions/000002\n")
        for _ in range(100):
            time.sleep(0.2)
            con = duckdb.connect(str(catalog), read_only=True)
            seen["version"] = con.sql("select version from lake_version").fetchall()
            con.close()
            if seen["version"] == [("000002",)]:
                break
        seen["following"] = [t for t in threading.enumerate() if t.name == "mio-lake-follower"]

    monkeypatch.setenv("MIO_LAKE_POLL_SECONDS", "0.2")
    monkeypatch.setattr(etl.cli, "_streamlit", server)
    try:
        served = CliRunner().invoke(main, ["serve", "--lake", object_store])
        assert served.exit_code == 0, served.output
        assert seen["version"] == [("000002",)] and len(seen["following"]) == 1  # type: ignore[arg-type]
        seen["following"][0].join(timeout=5)  # type: ignore[index]
        assert not seen["following"][0].is_alive()  # type: ignore[index]
        moved = CliRunner().invoke(main, ["report", "--by", "channel", "--lake", object_store, "--format", "json"])
        local = CliRunner().invoke(main, ["report", "--by", "channel", "--db", str(both / "w.duckdb"),
                                          "--format", "json"])
        assert moved.exit_code == 0 and json.loads(moved.stdout) == json.loads(local.stdout)
    finally:
        fs.pipe_file(f"{bucket}/{POINTER}", b"versions/000001\n")
        fs.rm(f"{bucket}/versions/000002", recursive=True)
    runner = CliRunner()
    nothing = runner.invoke(main, ["report", "--by", "channel", "--lake", "s3://mio-lakes/none"])
    assert nothing.exit_code == 1 and "no lake at s3://mio-lakes/none" in nothing.output
    load_there = runner.invoke(main, ["load", "--source", str(both / "source"), "--engine", "spark",
                                      "--lake", object_store, "--spark-remote", "sc://localhost:1"])
    assert load_there.exit_code == 2 and "with Spark Connect, load into a folder that the cluster shares" in (
        load_there.output)
    on_spark = runner.invoke(main, ["report", "--by", "channel", "--engine", "spark", "--lake", object_store,
                                    "--format", "json"])  # on this machine's copy of the store's version
    on_duckdb = runner.invoke(main, ["report", "--by", "channel", "--db", str(both / "w.duckdb"), "--format", "json"])
    assert on_spark.exit_code == 0, on_spark.output
    assert json.loads(on_spark.stdout) == json.loads(on_duckdb.stdout)
    nothing_on_spark = runner.invoke(main, ["report", "--by", "channel", "--engine", "spark", "--lake",
                                            "s3://mio-lakes/none"])
    assert nothing_on_spark.exit_code == 1 and "no lake at s3://mio-lakes/none" in nothing_on_spark.output
    connect = runner.invoke(main, ["report", "--by", "channel", "--engine", "spark", "--lake", object_store,
                                   "--spark-remote", "sc://localhost:1"])
    assert connect.exit_code == 2 and "report a lake in an object store with DuckDB" in " ".join(connect.output.split())
    unknown = runner.invoke(main, ["report", "--by", "channel", "--lake", "nosuchscheme://x/y"])
    assert unknown.exit_code == 1 and "no file system is known" in unknown.output
    no_lake = runner.invoke(main, ["publish", "--lake", str(both / "nowhere"), "--to", object_store])
    assert no_lake.exit_code == 1 and "no lake at" in no_lake.output
    on_disk = runner.invoke(main, ["publish", "--lake", str(both / "lake"), "--to", str(both / "copy")])
    assert on_disk.exit_code == 2 and "give an object store's URI" in on_disk.output


def test_the_spark_engine_loads_a_source_from_an_object_store(tmp_path: Path, object_store: str) -> None:
    """`mio load --engine spark --source s3://…`: the files are copied beside the lake (a folder the executors
    share), loaded as from disk (the same lake, quarantine and output, a mapping found among them), the load history
    names the store's URI and the mapping's place there, and no copy is left, dry run included."""
    import s3fs

    fs = s3fs.S3FileSystem()
    bucket = object_store.removeprefix("s3://").split("/", 1)[0]
    tables = {**HAND, "applications": [*HAND["applications"], "A99,S1,P1,2025-01-10T10:00:00Z,platform,maybe,"]}
    source = write_source(tmp_path / "hand", tables)
    (source / "archive").mkdir()
    (source / "archive" / "old.csv").write_text("not,an,entity\n")
    uri = f"s3://{bucket}/sources/hand"
    for path in sorted(source.rglob("*")):
        if path.is_file():
            fs.put_file(str(path), f"{bucket}/sources/hand/{path.relative_to(source)}")
    work = tmp_path / "lakes"
    work.mkdir()
    runner = CliRunner()
    try:
        ask = ["load", "--engine", "spark", "--format", "json", "--max-bad-rows", "0.2"]
        remote = runner.invoke(main, [*ask, "--source", uri, "--lake", str(work / "s3")])
        local = runner.invoke(main, [*ask, "--source", str(source), "--lake", str(work / "disk")])
        assert remote.exit_code == local.exit_code == 0, remote.output
        assert f"copying the files under {uri} beside the lake" in remote.stderr
        assert json.loads(remote.stdout) == json.loads(local.stdout)
        ours, theirs = _lake_tables(work / "s3"), _lake_tables(work / "disk")
        assert ours["load_history"]["source"].to_list() == [uri]
        assert theirs["load_history"]["source"].to_list() == [str(source.resolve())]
        varying = ["started_at", "finished_at", "source"]
        assert set(ours) == set(theirs)
        for name in ours:
            drop = varying if name == "load_history" else []
            assert_frame_equal(ours[name].drop(drop).sort(pl.all()), theirs[name].drop(drop).sort(pl.all()))
        assert ours["quarantine"].height == 1  # the application with a status of its own
        dry = runner.invoke(main, ["load", "--engine", "spark", "--source", uri, "--lake", str(work / "s3"),
                                   "--dry-run", "--max-bad-rows", "0.2"])
        assert dry.exit_code == 0 and "would load" in dry.output
        assert sorted(p.name for p in work.iterdir()) == ["disk", "s3"]  # no copy left beside the lakes

        columns = "".join(f"      {name}: {name}\n" for name in HAND["offers"][0].split(","))
        mapping = f"version: 1\nentities:\n  offers:\n    from: offers.csv\n    columns:\n{columns}"
        fs.pipe_file(f"{bucket}/sources/hand/mapping.yaml", mapping.encode())
        mapped = runner.invoke(main, ["load", "--engine", "spark", "--source", uri, "--lake", str(work / "s3"),
                                      "--max-bad-rows", "0.2"])
        assert mapped.exit_code == 0, mapped.output
        history = _lake_tables(work / "s3")["load_history"].sort("load_id")
        assert history["mapping_file"].to_list() == [None, f"{uri}/mapping.yaml"]
        assert history["mapping"].to_list() == [None, mapping]
        assert sorted(p.name for p in work.iterdir()) == ["disk", "s3"]
    finally:
        fs.rm(f"{bucket}/sources", recursive=True)


def test_the_spark_engine_loads_into_a_lake_in_an_object_store(tmp_path: Path, object_store: str) -> None:
    """`mio load --engine spark --lake s3://…`: the load writes this machine's copy of the lake (fetched at the
    store's current version) and publishes the new version there, CURRENT last; the lake in the store reports as a
    lake loaded on disk, load after load. A dry run publishes nothing (a rejected load takes the same branch). A
    load that finds CURRENT moved by another publishes nothing, and the next load starts from the store's version."""
    import s3fs

    from etl.spark.lake import IN_STORE, cached_for

    fs = s3fs.S3FileSystem()
    bucket = object_store.removeprefix("s3://").split("/", 1)[0]
    uri = f"s3://{bucket}/loaded"
    first = write_source(tmp_path / "first", HAND)
    second = write_source(tmp_path / "second", {
        **HAND, "applications": [*HAND["applications"], "A99,S1,P1,2025-01-10T10:00:00Z,platform,maybe,"]})
    runner = CliRunner()

    def load_both(source: Path, *more: str) -> tuple[object, object]:
        ask = ["load", "--engine", "spark", "--source", str(source), "--max-bad-rows", "0.2", *more]
        return runner.invoke(main, [*ask, "--lake", uri]), runner.invoke(main, [*ask, "--lake", str(tmp_path / "disk")])

    def reports() -> tuple[list, list]:
        asks = [["--by", "channel"], ["--by", "industry"], ["--metric", "destinations"]]
        return tuple([json.loads(runner.invoke(main, ["report", *a, "--lake", lake, "--format", "json",  # type: ignore
                                                     "--min-cell", "1"]).stdout) for a in asks]
                     for lake in (uri, str(tmp_path / "disk")))

    try:
        there, here = load_both(first)
        assert there.exit_code == here.exit_code == 0, there.output
        assert f"published version 000001 to {uri}" in there.stderr
        assert fs.cat_file(f"{bucket}/loaded/{POINTER}") == b"versions/000001\n"
        ours, theirs = reports()
        assert ours == theirs and ours[0]
        work = cached_for(uri) / "work"  # not another test's working copy of its own lake
        assert (work / IN_STORE).read_text() == "000001\n"
        (work / "kept").touch()  # gone when the copy is fetched again
        published = sorted(name.removeprefix(f"{bucket}/loaded/") for name in fs.find(f"{bucket}/loaded/versions"))
        assert published == sorted(path.relative_to(work).as_posix() for path in (work / "versions").rglob("*")
                                   if path.is_file() and not path.name.startswith("."))

        dry = runner.invoke(main, ["load", "--engine", "spark", "--source", str(second), "--lake", uri,
                                   "--max-bad-rows", "0.2", "--dry-run"])
        assert dry.exit_code == 0 and "would load" in dry.output
        assert fs.cat_file(f"{bucket}/loaded/{POINTER}") == b"versions/000001\n"
        assert "published" not in dry.stderr

        there, here = load_both(second)  # on the working copy as the first load left it: nothing fetched
        assert there.exit_code == here.exit_code == 0, there.output
        assert fs.cat_file(f"{bucket}/loaded/{POINTER}") == b"versions/000002\n"
        ours, theirs = reports()
        assert ours == theirs
        tables = _lake_tables(work)
        assert sorted(tables["load_history"]["load_id"]) == [1, 2] and tables["quarantine"].height == 1
        assert [p.name for p in (work / "versions").iterdir()] == ["000002"]  # the store keeps 000001
        assert (work / "kept").exists()  # the copy was the store's version: nothing fetched

        # Another machine publishes version 000003 while a load here runs: this one publishes nothing.
        import etl.spark.lake as lakes

        real = lakes.publish

        def meanwhile(lake: object, to: str, since: object = None) -> object:
            fs.copy(f"{bucket}/loaded/versions/000002", f"{bucket}/loaded/versions/000003", recursive=True)
            fs.pipe_file(f"{bucket}/loaded/{POINTER}", b"versions/000003\n")
            return real(lake, to, since)  # type: ignore[arg-type]

        lakes.publish = meanwhile  # type: ignore[assignment] - publish_working_copy calls it by this name
        try:
            moved = runner.invoke(main, ["load", "--engine", "spark", "--source", str(first), "--lake", uri])
        finally:
            lakes.publish = real  # type: ignore[assignment]
        assert moved.exit_code == 1, moved.output
        said = " ".join(moved.stderr.split())  # as read, whatever the terminal's width
        assert "its CURRENT moved from 000002 to 000003 during this load" in said
        assert "but not published; s3://mio-lakes/loaded is as it was" in said
        assert fs.cat_file(f"{bucket}/loaded/{POINTER}") == b"versions/000003\n"
        again = runner.invoke(main, ["load", "--engine", "spark", "--source", str(first), "--lake", uri])
        assert again.exit_code == 0, again.output
        assert fs.cat_file(f"{bucket}/loaded/{POINTER}") == b"versions/000004\n"
        assert sorted(_lake_tables(work)["load_history"]["load_id"]) == [1, 2, 3]  # 000003 is 000002's copy
        assert not (work / "kept").exists()  # the copy had a version of its own: fetched again
    finally:
        fs.rm(f"{bucket}/loaded", recursive=True)


def test_a_lake_in_an_object_store_is_read_from_it_once(object_store: str) -> None:
    """A query asked again reads nothing from the store: what DuckDB read stays in its memory (a version's files
    never change). Counted as the requests the S3 server logs."""
    import logging

    from etl.warehouse import connect_read_only

    requests: list[str] = []

    class Counted(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            requests.append(record.getMessage())

    con = connect_read_only(duckdb_catalog(object_store))
    query = ("select channel, count(*), count(distinct student_id) from fact_applications where industry = "
             "'Technology' group by all order by 1")
    log = logging.getLogger("werkzeug")
    handler = Counted()
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        first = con.sql(query).fetchall()
        asked = len(requests)
        assert con.sql(query).fetchall() == first and first
    finally:
        log.setLevel(logging.ERROR)
        log.removeHandler(handler)
        con.close()
    assert asked > 0 and any("fact_applications" in r for r in requests)  # the first query read the files
    assert len(requests) == asked, requests[asked:]


@pytest.mark.parametrize("key", DIRECTOR_DATA_PAGES)
def test_the_dashboard_serves_a_lake_in_an_object_store(both: Path, object_store: str,
                                                        monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    """`mio serve --lake s3://…`: every director's page shows what it shows on the DuckDB engine's warehouse."""
    catalog = duckdb_catalog(object_store)
    on_store = _page(open_page(catalog, monkeypatch, key))
    assert on_store == _page(open_page(both / "w.duckdb", monkeypatch, key))
    assert on_store["metrics"] or on_store["tables"] or on_store["charts"], key
