"""The Spark engine through Spark Connect, as a cluster is reached: a local Spark Connect server (Spark's own, from
the pyspark package, on 127.0.0.1) and the equality tests of tests/test_spark.py run through it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from etl.cli import main
from etl.generate import generate
from etl.metrics.columns import DIMENSIONS
from etl.pipeline import load

pytest.importorskip("pyspark", reason="the Spark engine's tests need pyspark (the spark extra)")

from etl.spark.session import java_available  # noqa: E402
from tests.test_spark import _break, _quarantine, _same_tables  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.spark,
    pytest.mark.skipif(not java_available(), reason="Spark Connect's server needs Java 17: apt-get install "
                                                    "openjdk-17-jre-headless (.ci/run installs it)"),
]


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A Spark Connect server in local mode on a free port of 127.0.0.1, for this module's tests: its address and
    its log."""
    import pyspark

    home = Path(pyspark.__file__).parent
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("connect") / "server.log"
    env = {**os.environ, "SPARK_HOME": str(home), "PYSPARK_PYTHON": sys.executable}  # its workers run mio's code
    env.pop("SPARK_REMOTE", None)
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(home / "bin" / "spark-submit"), "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
             "--master", "local[2]", "--conf", f"spark.connect.grpc.binding.port={port}",
             "--conf", "spark.connect.grpc.binding.address=127.0.0.1", "--conf", "spark.ui.enabled=false",
             "--conf", f"spark.sql.shuffle.partitions={os.environ['MIO_SPARK_PARTITIONS']}",  # as tests/conftest.py
             "--name", "mio-test-connect", "spark-internal"],
            stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 120
        while "Spark Connect server started" not in log.read_text():
            assert server.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the Spark Connect server did not start in 120 s"
            time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}", log
    finally:
        server.terminate()
        server.wait(timeout=60)


def _python(*argv: str, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """This interpreter in a process of its own, in the checkout: a process holds one kind of Spark session, and the
    other tests' local one lives in this process."""
    env = {**{k: v for k, v in os.environ.items() if k != "SPARK_REMOTE"}, **(env or {})}
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parents[1], timeout=timeout)


def _mio(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The `mio` command in a process of its own."""
    return _python("-m", "etl.cli", *args, env=env)


REPORTS = """
import json, sys
from click.testing import CliRunner
from etl.cli import main
for ask in json.loads(sys.argv[1]):
    result = CliRunner().invoke(main, ["report", *ask, "--format", "json"])
    print(json.dumps([result.exit_code, result.stdout if result.exit_code == 0 else result.output]), flush=True)
"""


def _reports(asks: list[list[str]], where: list[str]) -> list[tuple[int, str]]:
    """`mio report ASK WHERE --format json` for every ask, in one process of its own (one Spark Connect session for
    all of them, as a notebook or a scheduler holds one): each report's exit code and output."""
    done = _python("-c", REPORTS, json.dumps([[*ask, *where] for ask in asks]), timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return [tuple(json.loads(line)) for line in done.stdout.splitlines() if line.startswith("[")]  # type: ignore[misc]


def _plans(log: Path) -> int:
    """How many plans the server has run for its clients."""
    return log.read_text().count("SparkConnectExecutionManager: ExecuteHolder ExecuteKey")


def test_the_same_warehouse_and_reports_through_spark_connect(tmp_path: Path,
                                                             connect_server: tuple[str, Path]) -> None:
    """`mio load` and `mio report` with `--engine spark --spark-remote sc://…`: the lake equals the DuckDB engine's
    warehouse of the same source (bad rows and all), and every report gives the same rows."""
    connect_url, log = connect_server
    source = tmp_path / "source"
    generate(source, students=300, seed=11)
    _break(source)
    lake = str(tmp_path / "lake")
    ours = _mio("load", "--source", str(source), "--engine", "spark", "--lake", lake, "--spark-remote", connect_url,
                "--format", "json", env={"MIO_READ_BLOCK_BYTES": str(16 << 10)})  # files read on the executors
    assert ours.returncode == 0, ours.stderr[-3000:]
    assert _plans(log) > 50  # the load ran on the server, not in a local Spark of its own
    assert "Starting Python task execution" in log.read_text()  # its executors read the files, a block per task
    theirs = load(source, tmp_path / "w.duckdb")
    assert json.loads(ours.stdout.strip().splitlines()[-1])["status"] == theirs.status == "loaded"
    assert theirs.quarantine.height >= 5
    _same_tables(tmp_path / "lake", tmp_path / "w.duckdb")
    quarantine = pl.read_parquet(tmp_path / "lake" / "versions" / "000001" / "quarantine" / "*.parquet")
    assert _quarantine(quarantine.rename({"column_name": "column", "source_column": "source"}).drop("load_id")) \
        == _quarantine(theirs.quarantine)

    # Great Expectations' own Spark execution engine, on the server's DataFrames: the same quarantine, row for row.
    checked = _mio("load", "--source", str(source), "--engine", "spark", "--lake", lake, "--spark-remote",
                   connect_url, "--validator", "gx", "--dry-run", "--format", "json")
    assert checked.returncode == 0, checked.stderr[-3000:]
    found = json.loads(checked.stdout.strip().splitlines()[-1])
    assert found["status"] == "checked"
    assert _quarantine(pl.DataFrame(found["quarantine"], schema=theirs.quarantine.drop("record").schema)
                       .with_columns(record=pl.lit(None))) == _quarantine(theirs.quarantine)

    asks = [["--by", d] for d in DIMENSIONS] + [["--metric", "destinations"]]
    on_spark = _reports(asks, ["--engine", "spark", "--lake", lake, "--spark-remote", connect_url])
    for ask, (code, output) in zip(asks, on_spark, strict=True):
        on_duckdb = CliRunner().invoke(main, ["report", *ask, "--db", str(tmp_path / "w.duckdb"), "--format", "json"])
        assert code == on_duckdb.exit_code == 0, (ask, output[-3000:])
        assert json.loads(output) == json.loads(on_duckdb.stdout), ask
