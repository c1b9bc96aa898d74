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


def local_settings() -> dict[str, str]:
    """What a session of this machine's own needs beyond Spark's defaults: Delta Lake's tables (its SQL and its
    catalog) and Hadoop's S3A connector for `s3a://` and `s3://` paths, from the jars `make install` fetched
    (etl/spark/jars.py; without them, from Maven Central once). An object store other than AWS's is named by
    AWS_ENDPOINT_URL (MinIO, Ceph, a test server), then reached by path-style addresses. A cluster behind Spark
    Connect is configured by its operator the same way (docs/scale.md)."""
    from etl.spark.jars import PACKAGES, jars

    fetched = jars()
    # Local mode's executors run in the driver's JVM: the jars on its class path, not shipped to it (spark.jars
    # would copy all 700 MB into each session's work folder).
    settings = {"spark.driver.extraClassPath": os.pathsep.join(str(jar) for jar in fetched)} if fetched else {
        "spark.jars.packages": ",".join(PACKAGES)}
    settings |= {
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",  # s3:// as the rest of mio writes it
    }
    return settings | {f"spark.hadoop.{key}": value for key, value in object_store_settings().items()}


def object_store_settings() -> dict[str, str]:
    """S3A's settings from the AWS environment as it is now (the JVM reads its own environment only once, when it
    starts): a store other than AWS's (AWS_ENDPOINT_URL), its region, and keys given in the environment. Unset
    ones are left to S3A's defaults and its chain of credential providers (instance roles and the like)."""
    settings: dict[str, str] = {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        settings |= {"fs.s3a.endpoint": endpoint, "fs.s3a.path.style.access": "true",
                     "fs.s3a.connection.ssl.enabled": str(endpoint.startswith("https")).lower()}
    named = {"fs.s3a.endpoint.region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
             "fs.s3a.access.key": ("AWS_ACCESS_KEY_ID",), "fs.s3a.secret.key": ("AWS_SECRET_ACCESS_KEY",),
             "fs.s3a.session.token": ("AWS_SESSION_TOKEN",)}
    for key, variables in named.items():
        value = next((os.environ[v] for v in variables if os.environ.get(v)), None)
        if value:
            settings[key] = value
    if "fs.s3a.session.token" in settings:
        settings["fs.s3a.aws.credentials.provider"] = "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"
    return settings


def use_object_store(spark: Any) -> None:
    """Bring a running session's S3A settings up to the environment's (before it reads or writes a store): as the
    session's own settings, which Spark copies into the Hadoop settings of every read and write it plans."""
    for key, value in object_store_settings().items():
        spark.conf.set(key, value)


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
        for key, value in local_settings().items():
            builder = builder.config(key, value)
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
