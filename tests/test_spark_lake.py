"""The Spark engine's lake as the product reads it (issue 12, part 2; issue 22): `mio report --engine spark` and the
outcomes report from a lake equal the DuckDB engine's, every director's page shows the same on a lake, and a lake or a
source in an object store (moto's S3 server on 127.0.0.1) loads, reports and serves as one on disk. Beside
tests/test_spark.py (the loads themselves), so that the two run side by side, each with its Spark."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from dashboard.registry import DIRECTOR_DATA_PAGES
from etl.cli import main
from etl.generate import Knobs, generate
from etl.metrics.columns import DIMENSIONS, PROJECT_ATTRIBUTES
from etl.pipeline import load
from tests.test_dashboard import frame_of, open_page, shown

pytest.importorskip("pyspark", reason="the Spark engine's tests need pyspark (the spark extra)")

from etl.spark.lake import POINTER, duckdb_catalog  # noqa: E402
from etl.spark.load import load_lake  # noqa: E402
from tests.test_spark import MOMENTS, _lake_tables, _same_tables, pytestmark  # noqa: E402, F401


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, spark: object) -> Path:
    """A generated source loaded both ways: FOLDER/lake and FOLDER/w.duckdb; large enough, and with planted effects,
    for every adjusted comparison to give figures (4,000 students: at 3,000 the destinations' comparison gives none)."""
    folder = tmp_path_factory.mktemp("both")
    generate(folder / "source", students=4000, seed=3,
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
    estimated: dict[tuple[str, ...], int] = {}
    for ask in asks:
        for min_cell in ("1", "10"):
            spark_rows = runner.invoke(main, ["report", *ask, "--engine", "spark", "--lake", str(tmp_path / "lake"),
                                              "--format", "json", "--min-cell", min_cell])
            duck_rows = runner.invoke(main, ["report", *ask, "--db", str(tmp_path / "w.duckdb"), "--format", "json",
                                             "--min-cell", min_cell])
            assert spark_rows.exit_code == duck_rows.exit_code == 0, (ask, spark_rows.output, duck_rows.output)
            assert json.loads(spark_rows.stdout) == json.loads(duck_rows.stdout), ask
            assert json.loads(duck_rows.stdout), ask
            estimated[(*ask, min_cell)] = sum(row.get("adjusted_offer_rate", row.get("adjusted_difference")) is not None
                                              for row in json.loads(duck_rows.stdout))
    compared = {ask: n for ask, n in estimated.items() if "--adjusted" in ask}
    assert all(compared.values()), compared  # every adjusted comparison compared figures, not only blanks
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
def object_store(both: Path, s3_bucket: object) -> str:
    """The `both` lake published (its files, then CURRENT) into the test S3 server's bucket."""
    fs = s3_bucket
    published = CliRunner().invoke(main, ["publish", "--lake", str(both / "lake"), "--to", "s3://mio-lakes/term"])
    assert published.exit_code == 0, published.output
    assert "published version 000001 to s3://mio-lakes/term" in published.output
    assert fs.cat_file(f"mio-lakes/term/{POINTER}") == (both / "lake" / POINTER).read_bytes()  # type: ignore[attr-defined]
    assert not [name for name in fs.find("mio-lakes/term") if name.endswith(".crc")]  # type: ignore[attr-defined]
    return "s3://mio-lakes/term"


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
