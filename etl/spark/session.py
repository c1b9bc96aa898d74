"""A Spark session: in local mode on this machine (`local[N]`), or on a cluster through Spark Connect
(`--spark-remote sc://host:port`, or the SPARK_REMOTE environment variable)."""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

LOCAL_CORES = os.environ.get("MIO_SPARK_CORES", "2")


class SparkUnavailable(RuntimeError):
    """pyspark is not installed, or local mode has no Java to run on."""


def java_available() -> bool:
    return bool(os.environ.get("JAVA_HOME")) or shutil.which("java") is not None


def spark_session(remote: str | None = None) -> Any:
    """A session with the settings every figure relies on: UTC timestamps and ANSI arithmetic off (DuckDB's integer
    division and casts), few shuffle partitions on a small machine."""
    remote = remote or os.environ.get("SPARK_REMOTE")
    if not remote and not java_available():
        raise SparkUnavailable("Spark's local mode needs Java 17 (Debian: apt-get install openjdk-17-jre-headless), "
                               "or give a cluster with --spark-remote sc://host:port")
    try:
        from pyspark.sql import SparkSession
    except ImportError as err:  # pragma: no cover - the spark extra installs it
        raise SparkUnavailable("the Spark engine needs pyspark: pip install 'mio[spark]'") from err
    builder = SparkSession.builder.appName("mio")
    # Local mode's Python workers (the executors' reading, etl/spark/read.py) run this interpreter, with mio in it,
    # not whichever python3 is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    if remote:
        builder = builder.remote(remote)
    else:
        builder = (builder.master(f"local[{LOCAL_CORES}]")
                   .config("spark.ui.enabled", "false")
                   .config("spark.driver.memory", os.environ.get("MIO_SPARK_DRIVER_MEMORY", "4g"))
                   .config("spark.sql.shuffle.partitions", os.environ.get("MIO_SPARK_PARTITIONS", "8"))
                   .config("spark.ui.showConsoleProgress", "false"))
    spark = builder.getOrCreate()
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    spark.conf.set("spark.sql.legacy.timeParserPolicy", "CORRECTED")
    return spark
