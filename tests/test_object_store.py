"""Loading from an object store (issue 12): `mio load --source s3://…` on the DuckDB engine copies the folder's
files beside the warehouse, loads them as from disk, records the URI in the load history and removes the copy.
Against moto's S3 server on 127.0.0.1, in the test's own process. (A lake in an object store: tests/test_spark.py.)"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from etl.cli import main
from tests.conftest import HAND, REAL, write_source

pytest.importorskip("s3fs", reason="object stores are read through fsspec (the lake extra)")
pytest.importorskip("moto.server", reason="the object store tests need moto's S3 server")

from bench.object_store import s3_server  # noqa: E402

pytestmark = pytest.mark.slow  # an S3 server on 127.0.0.1: not in make test-fast


@pytest.fixture(scope="module")
def store() -> Iterator[Any]:
    with s3_server() as fs:
        fs.mkdir("exports")
        yield fs


def _upload(fs: Any, folder: Path, prefix: str) -> str:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            fs.put_file(str(path), f"exports/{prefix}/{path.relative_to(folder)}")
    return f"s3://exports/{prefix}"


def _tables(db: Path) -> dict[str, list[tuple]]:
    """Every table's rows, but the load history's moments, source and mapping file (where they came from)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.sql("select table_name from information_schema.tables where table_type = "
                                       "'BASE TABLE' order by 1").fetchall()]
        varying = "exclude (started_at, finished_at, source, mapping_file)"
        return {name: con.sql(f"select * {varying if name == 'load_history' else ''} from {name} order by all")
                .fetchall() for name in names}
    finally:
        con.close()


def _history(db: Path, column: str = "source") -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [r[0] for r in con.sql(f"select {column} from load_history order by load_id").fetchall()]
    finally:
        con.close()


def test_a_source_in_an_object_store_loads_as_from_disk(tmp_path: Path, store: Any) -> None:
    """The hand-built source with bad rows and a subfolder the loader does not read: the same warehouse, quarantine
    and output as from disk; the load history names the store's URI; no copy is left beside the warehouse."""
    tables = {**HAND, "applications": [*HAND["applications"], "A99,S1,P1,2025-01-10T10:00:00Z,platform,maybe,"]}
    source = write_source(tmp_path / "hand", tables)
    (source / "archive").mkdir()
    (source / "archive" / "old.csv").write_text("not,an,entity\n")
    uri = _upload(store, source, "hand")
    runner = CliRunner()
    remote = runner.invoke(main, ["load", "--source", uri, "--db", str(tmp_path / "s3.duckdb"), "--format", "json",
                                  "--max-bad-rows", "0.2"])
    local = runner.invoke(main, ["load", "--source", str(source), "--db", str(tmp_path / "disk.duckdb"),
                                 "--format", "json", "--max-bad-rows", "0.2"])
    assert remote.exit_code == local.exit_code == 0, remote.output
    assert json.loads(remote.stdout) == json.loads(local.stdout)
    assert _tables(tmp_path / "s3.duckdb") == _tables(tmp_path / "disk.duckdb")
    assert len(_tables(tmp_path / "s3.duckdb")["quarantine"]) == 1  # the application with a status of its own
    assert _history(tmp_path / "s3.duckdb") == [uri]
    assert _history(tmp_path / "disk.duckdb") == [str(source.resolve())]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["disk.duckdb", "hand", "s3.duckdb"]

    again = runner.invoke(main, ["load", "--source", uri, "--db", str(tmp_path / "s3.duckdb"), "--dry-run",
                                 "--max-bad-rows", "0.2"])
    assert again.exit_code == 0 and "would load" in again.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["disk.duckdb", "hand", "s3.duckdb"]


@pytest.mark.skipif(not REAL.exists(), reason="the real exports in ../shared/real are not here")
def test_a_real_export_with_its_mapping_in_the_store(tmp_path: Path, store: Any) -> None:
    """A real export in another shape and the mapping.yaml beside it, both in the store: loaded through the mapping,
    which the load history keeps, named where it was in the store."""
    from tests.test_mapping import PLACEMENT_MAPPING, real_copy, write

    source = real_copy(tmp_path / "placement", "Placement_Data_Full_Class.csv")
    write(source, "mapping.yaml", PLACEMENT_MAPPING)
    uri = _upload(store, source, "placement")
    runner = CliRunner()
    remote = runner.invoke(main, ["load", "--source", uri, "--db", str(tmp_path / "s3.duckdb")])
    local = runner.invoke(main, ["load", "--source", str(source), "--db", str(tmp_path / "disk.duckdb")])
    assert remote.exit_code == local.exit_code == 0, remote.output
    assert _tables(tmp_path / "s3.duckdb") == _tables(tmp_path / "disk.duckdb")
    assert len(_tables(tmp_path / "s3.duckdb")["students"]) == 215
    assert _history(tmp_path / "s3.duckdb", "mapping") == [PLACEMENT_MAPPING]
    assert _history(tmp_path / "s3.duckdb", "mapping_file") == [f"{uri}/mapping.yaml"]
    assert _history(tmp_path / "disk.duckdb", "mapping_file") == [str((source / "mapping.yaml").resolve())]
    assert _history(tmp_path / "s3.duckdb") == [uri]


def test_what_cannot_be_loaded_from_a_store_says_why(tmp_path: Path, store: Any) -> None:
    """A folder with no file exits 1; an unknown scheme exits 1. Nothing is written. (The Spark engine's load from a
    store: tests/test_spark.py.)"""
    runner = CliRunner()
    empty = runner.invoke(main, ["load", "--source", "s3://exports/nothing", "--db", str(tmp_path / "w.duckdb")])
    assert empty.exit_code == 1 and "s3://exports/nothing: no files there" in empty.output
    unknown = runner.invoke(main, ["load", "--source", "nosuchscheme://x/y", "--db", str(tmp_path / "w.duckdb")])
    assert unknown.exit_code == 1 and "no file system is known" in unknown.output
    assert list(tmp_path.iterdir()) == []


def test_a_store_that_does_not_answer_is_an_error_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:
    """Every command that reaches a store exits 1 naming the URI and what its client said, when nothing listens at
    the store's endpoint (a traceback from botocore before): load from it, report and serve a lake there, publish
    to it, load into a lake there. Nothing is left beside the warehouse, and nothing is written to the lake's cache."""
    import socket

    import s3fs

    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for name, value in {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "mio",
                        "AWS_SECRET_ACCESS_KEY": "mio", "AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1",
                        "MIO_LAKE_CACHE": str(tmp_path / "cache")}.items():
        monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()
    lake = tmp_path / "lake"  # a lake's layout, for publish to try to copy
    (lake / "versions" / "000001" / "students").mkdir(parents=True)
    (lake / "versions" / "000001" / "students" / "part-0.parquet").write_bytes(b"PAR1")
    (lake / "CURRENT").write_text("versions/000001\n")
    runner = CliRunner()
    work = tmp_path / "work"
    work.mkdir()
    commands = {
        "s3://exports/hand": ["load", "--source", "s3://exports/hand", "--db", str(work / "w.duckdb")],
        "s3://office/lake": ["report", "--lake", "s3://office/lake", "--by", "industry"],
        "s3://office/served": ["serve", "--lake", "s3://office/served"],
        "s3://office/published": ["publish", "--lake", str(lake), "--to", "s3://office/published"],
        "s3://office/loaded": ["load", "--engine", "spark", "--source", str(write_source(tmp_path / "hand", HAND)),
                               "--lake", "s3://office/loaded"],  # before any Spark starts
    }
    try:
        for uri, command in commands.items():
            result = runner.invoke(main, command)
            said = " ".join(result.output.split())
            assert result.exit_code == 1, (command, result.output, result.exception)
            assert isinstance(result.exception, SystemExit), (command, result.exception)
            assert f"error: {uri}: the object store did not answer or refused (EndpointConnectionError" in said, said
        assert list(work.iterdir()) == []
        assert not (tmp_path / "cache").exists()
    finally:
        s3fs.S3FileSystem.clear_instance_cache()


def _lake_of(db: Path, lake: Path) -> Path:
    """A lake's layout (CURRENT, one version, a folder of Parquet per table) holding a warehouse's tables."""
    version = lake / "versions" / "000001"
    con = duckdb.connect(str(db), read_only=True)
    try:
        for (name,) in con.sql("select table_name from information_schema.tables where table_type = 'BASE TABLE'"
                               ).fetchall():
            (version / name).mkdir(parents=True)
            con.execute(f"copy (select * from \"{name}\") to '{version / name / 'part-0.parquet'}' (format parquet)")
    finally:
        con.close()
    (lake / "CURRENT").write_text("versions/000001\n")
    return lake


def test_a_page_says_so_when_the_lakes_store_stops_answering(tmp_path: Path, store: Any,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """`mio serve --lake s3://…` while the store is down: the page says that the store did not answer (with the
    URI and the client's words) instead of DuckDB's traceback; the overview was drawn from the store before."""
    import socket

    import s3fs
    from streamlit.testing.v1 import AppTest

    from dashboard import data
    from etl.pipeline import load
    from etl.spark.lake import duckdb_catalog
    from tests.conftest import DIRECTOR, run_app

    db = tmp_path / "w.duckdb"
    assert load(write_source(tmp_path / "hand", HAND), db).ok
    lake = _lake_of(db, tmp_path / "lake")
    assert CliRunner().invoke(main, ["publish", "--lake", str(lake), "--to", "s3://exports/lake"]).exit_code == 0
    monkeypatch.setenv("MIO_LAKE_CACHE", str(tmp_path / "cache"))
    catalog = duckdb_catalog("s3://exports/lake")

    def forget() -> None:  # a new connection, with the file system the environment names now
        with data._lock:
            for _, con, _ready in data._open.values():
                con.close()
            data._open.clear()
        data.st.cache_data.clear()
        s3fs.S3FileSystem.clear_instance_cache()

    forget()
    from_store = run_app(catalog, monkeypatch)
    forget()
    from_warehouse = run_app(db, monkeypatch)
    drawn = {m.label: m.value for m in from_store.metric}
    assert drawn == {m.label: m.value for m in from_warehouse.metric} and drawn["Applications"] == "9"
    assert not from_store.error
    monkeypatch.setenv("MIO_DB", str(catalog))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    forget()
    try:
        for page in ("overview", "data_quality"):
            at = AppTest.from_file(str(Path(__file__).parents[1] / "dashboard" / "app.py"), default_timeout=60)
            at.session_state["user"] = DIRECTOR
            at.run()
            if page != "overview":
                at.switch_page(f"views/{page}.py").run()
            assert not at.exception, (page, at.exception)
            said = re.sub(r"\\(.)", r"\1", at.error[-1].value).replace("&#8203;", "")  # as the page shows it
            assert said.startswith("The figures could not be read from the lake's object store. s3://exports/lake: "
                                   "the object store did not answer or refused (EndpointConnectionError"), said
    finally:
        monkeypatch.undo()
        forget()
