"""The Spark engine's loads with an object store (moto's S3 server on 127.0.0.1): a source read from a store, and a
lake kept in one, each equal to the DuckDB engine's warehouse of the same files. Beside tests/test_spark.py and
tests/test_spark_lake.py, so that the three run side by side."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from etl.cli import main
from tests.conftest import HAND, write_source

pytest.importorskip("pyspark", reason="the Spark engine's tests need pyspark (the spark extra)")

from etl.spark.lake import POINTER  # noqa: E402
from tests.test_spark import _lake_tables, _same_tables, pytestmark  # noqa: E402, F401


@pytest.fixture(scope="module")
def object_store(s3_bucket: object) -> str:
    """The test S3 server's bucket (tests/conftest.py), as a URI."""
    return "s3://mio-lakes"


def test_the_spark_engine_loads_a_source_from_an_object_store(tmp_path: Path, object_store: str) -> None:
    """`mio load --engine spark --source s3://…`: the files are copied beside the lake (a folder the executors
    share) and loaded as from disk (the DuckDB engine's tables, quarantine and output from the same files; a mapping
    found among them), the load history
    names the store's URI and the mapping's place there, and no copy is left, dry run included."""
    import s3fs

    fs = s3fs.S3FileSystem()
    bucket = object_store.removeprefix("s3://")
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
        ask = ["load", "--format", "json", "--max-bad-rows", "0.2"]
        remote = runner.invoke(main, [*ask, "--engine", "spark", "--source", uri, "--lake", str(work / "s3")])
        local = runner.invoke(main, [*ask, "--source", str(source), "--db", str(tmp_path / "w.duckdb")])
        assert remote.exit_code == local.exit_code == 0, remote.output
        assert f"copying the files under {uri} beside the lake" in remote.stderr
        assert json.loads(remote.stdout) == json.loads(local.stdout)
        ours = _lake_tables(work / "s3")
        assert ours["load_history"]["source"].to_list() == [uri]
        _same_tables(work / "s3", tmp_path / "w.duckdb", varying=["source"])  # the DuckDB engine's: the folder
        assert ours["quarantine"].height == 1  # the application with a status of its own
        dry = runner.invoke(main, ["load", "--engine", "spark", "--source", uri, "--lake", str(work / "s3"),
                                   "--max-bad-rows", "0.2", "--dry-run"])
        assert dry.exit_code == 0 and "would load" in dry.output
        assert [p.name for p in work.iterdir()] == ["s3"]  # no copy left beside the lake

        columns = "".join(f"      {name}: {name}\n" for name in HAND["offers"][0].split(","))
        mapping = f"version: 1\nentities:\n  offers:\n    from: offers.csv\n    columns:\n{columns}"
        fs.pipe_file(f"{bucket}/sources/hand/mapping.yaml", mapping.encode())
        mapped = runner.invoke(main, ["load", "--engine", "spark", "--source", uri, "--lake", str(work / "s3"),
                                      "--max-bad-rows", "0.2"])
        assert mapped.exit_code == 0, mapped.output
        history = _lake_tables(work / "s3")["load_history"].sort("load_id")
        assert history["mapping_file"].to_list() == [None, f"{uri}/mapping.yaml"]
        assert history["mapping"].to_list() == [None, mapping]
        assert [p.name for p in work.iterdir()] == ["s3"]
    finally:
        fs.rm(f"{bucket}/sources", recursive=True)


def test_the_spark_engine_loads_into_a_lake_in_an_object_store(tmp_path: Path, object_store: str) -> None:
    """`mio load --engine spark --lake s3://…`: the load writes this machine's copy of the lake (fetched at the
    store's current version) and publishes the new version there, CURRENT last; the lake in the store reports as the
    DuckDB engine's warehouse of the same sources, load after load. A dry run publishes nothing (a rejected load takes
    the same branch). A load that finds CURRENT moved by another publishes nothing, and the next load starts from the
    store's version."""
    import s3fs

    from etl.spark.lake import IN_STORE, cached_for

    fs = s3fs.S3FileSystem()
    bucket = object_store.removeprefix("s3://")
    uri = f"s3://{bucket}/loaded"
    first = write_source(tmp_path / "first", HAND)
    second = write_source(tmp_path / "second", {
        **HAND, "applications": [*HAND["applications"], "A99,S1,P1,2025-01-10T10:00:00Z,platform,maybe,"]})
    runner = CliRunner()

    def load_both(source: Path) -> tuple[object, object]:
        """The source loaded into the lake in the store, and by the DuckDB engine into a warehouse on disk."""
        ask = ["load", "--source", str(source), "--max-bad-rows", "0.2"]
        return (runner.invoke(main, [*ask, "--engine", "spark", "--lake", uri]),
                runner.invoke(main, [*ask, "--db", str(tmp_path / "w.duckdb")]))

    def reports() -> tuple[list, list]:
        asks = [["--by", "channel"], ["--by", "industry"], ["--metric", "destinations"]]
        return tuple([json.loads(runner.invoke(main, ["report", *a, *where, "--format", "json",  # type: ignore
                                                     "--min-cell", "1"]).stdout) for a in asks]
                     for where in (["--lake", uri], ["--db", str(tmp_path / "w.duckdb")]))

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


def test_spark_writes_and_reads_delta_tables_in_the_object_store_itself(spark: object, object_store: str) -> None:
    """Spark's own S3A connector and Delta Lake's writer (the jars `make install` fetched: etl/spark/jars.py): two
    commits of a Delta table straight into the store, no copy on this machine; its history, time travel, and the files
    of its current version as delta-rs (DuckDB's side) lists them, the same ones Spark read."""
    import s3fs
    from deltalake import DeltaTable

    from etl.spark.session import use_object_store

    use_object_store(spark)
    fs = s3fs.S3FileSystem()
    bucket = object_store.removeprefix("s3://")
    table = f"s3a://{bucket}/delta-check/students"
    first = spark.createDataFrame([("S1", 2026), ("S2", 2027)], "student_id string, cohort int")  # type: ignore[attr-defined]
    try:
        first.write.format("delta").save(table)
        spark.createDataFrame([("S3", 2026)], "student_id string, cohort int").write.format(  # type: ignore[attr-defined]
            "delta").mode("append").save(table.replace("s3a://", "s3://"))  # s3:// is S3A too
        history = spark.sql(f"describe history delta.`{table}`").orderBy("version").collect()  # type: ignore[attr-defined]
        assert [(row["version"], row["operation"]) for row in history] == [(0, "WRITE"), (1, "WRITE")]
        now = spark.read.format("delta").load(table)  # type: ignore[attr-defined]
        assert sorted(row["student_id"] for row in now.collect()) == ["S1", "S2", "S3"]
        then = spark.read.format("delta").option("versionAsOf", 0).load(table)  # type: ignore[attr-defined]
        assert then.count() == 2
        logged = sorted(path.rsplit("/", 1)[1] for path in fs.find(f"{bucket}/delta-check/students/_delta_log")
                        if path.endswith(".json"))
        assert logged == ["00000000000000000000.json", "00000000000000000001.json"]
        options = {"AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"], "AWS_ALLOW_HTTP": "true",
                   "AWS_REGION": os.environ["AWS_DEFAULT_REGION"], "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
                   "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"]}
        listed = DeltaTable(table.replace("s3a://", "s3://"), storage_options=options)
        assert listed.version() == 1
        read = {row[0].rsplit("/", 1)[1] for row in now.selectExpr("input_file_name()").collect()}
        assert {uri.rsplit("/", 1)[1] for uri in listed.file_uris()} == read
    finally:
        fs.rm(f"{bucket}/delta-check", recursive=True)
