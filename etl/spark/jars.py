"""The Java packages the Spark engine needs beyond pyspark's own: Delta Lake's writer and reader, and Hadoop's S3A
connector (with the AWS SDK it is built on) so that the driver and every executor read and write `s3a://` paths
themselves.

`python -m etl.spark.jars fetch` resolves them from Maven Central once (through Spark's own Ivy resolution, the
versions below, each with what it depends on) into a folder of jars; every Spark session after that ships those jars
(`spark.jars`: on a cluster they are sent to the executors) and needs no network. `make install` fetches them into
the virtualenv; MIO_SPARK_JARS names another folder. Without the folder a session asks Ivy for the packages
(`spark.jars.packages`), which needs Maven Central once."""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

# pyspark is pinned to the Spark these are built for (pyproject.toml's spark extra): Delta's Scala artifact names its
# Spark (4.2) and Scala (2.13); hadoop-aws is the Hadoop that pyspark ships (hadoop-client-api 3.5.0).
PACKAGES = (
    "io.delta:delta-spark_4.2_2.13:4.4.0",
    "org.apache.hadoop:hadoop-aws:3.5.0",
)


def jar_folder() -> Path:
    """Where the fetched jars are kept: MIO_SPARK_JARS, or the running Python's prefix (the virtualenv)."""
    return Path(os.environ.get("MIO_SPARK_JARS") or Path(sys.prefix) / "share" / "mio" / "spark-jars")


def jars() -> list[Path]:
    """The fetched jars, or none when they have not been fetched."""
    folder = jar_folder()
    return sorted(folder.glob("*.jar")) if folder.is_dir() else []


def _artifact(jar: str) -> str:
    """A jar's artifact without its version (Ivy names its copies group_artifact-version.jar)."""
    return re.sub(r"-\d[\w.\-]*\.jar$", "", jar.split("_", 1)[1] if jar.count("_") and "." in jar.split("_")[0]
                  else jar)


def fetch(folder: Path | None = None) -> list[Path]:
    """Resolve PACKAGES and their dependencies through Spark's Ivy into `folder` (jar_folder() by default); the
    jars, sorted. A dependency that pyspark ships itself (Hadoop's client, Parquet, Jackson, logging) is left out:
    Spark's own comes first on the class path anyway, and two versions of one library are a trap. Run in a process
    of its own: it starts a local Spark session to resolve them."""
    folder = folder or jar_folder()
    import pyspark
    from pyspark.sql import SparkSession

    shipped = {_artifact(jar.name) for jar in (Path(pyspark.__file__).parent / "jars").glob("*.jar")}

    with tempfile.TemporaryDirectory(prefix="mio-ivy-") as ivy:
        spark = (SparkSession.builder.master("local[1]").appName("mio-fetch-jars")
                 .config("spark.jars.packages", ",".join(PACKAGES)).config("spark.jars.ivy", ivy)
                 .config("spark.ui.enabled", "false").getOrCreate())
        spark.stop()
        found = [jar for jar in sorted(Path(ivy, "jars").glob("*.jar")) if _artifact(jar.name) not in shipped]
        if not found:
            raise RuntimeError(f"Spark's Ivy resolved no jar for {', '.join(PACKAGES)}")
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for jar in found:
            shutil.copy2(jar, partial / jar.name)
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)  # whole or not at all: a session never sees half the jars
    return jars()


def main(argv: list[str]) -> int:
    if argv[:1] != ["fetch"]:
        print("usage: python -m etl.spark.jars fetch [FOLDER]", file=sys.stderr)
        return 2
    fetched = fetch(Path(argv[1]) if len(argv) > 1 else None)
    size = sum(jar.stat().st_size for jar in fetched)
    print(f"{len(fetched)} jars ({size / 1e6:,.0f} MB) in {fetched[0].parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
