"""A DuckDB-shaped connection over a Spark session: the metrics layer and the loader's checks call `sql`,
`execute`, `cursor`, `register` and `fetchall`/`pl` on it as on DuckDB, and every query they write in DuckDB's dialect
runs on Spark, transpiled (etl/spark/sql.py). One definition of each figure, two engines."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import polars as pl

from etl.spark.sql import to_spark

# A table's Spark schema, saved beside its Parquet files when it is written (Spark's readers skip names that start
# with an underscore, as they skip _SUCCESS): a reader then need not run a job to find it in a file's footer.
SCHEMA_FILE = "_schema.json"


def save_schema(folder: Path, schema: Any) -> None:
    if folder.is_dir():  # Spark wrote it where this process sees it
        (folder / SCHEMA_FILE).write_text(schema.json(), encoding="utf-8")


def to_polars(frame: Any) -> pl.DataFrame:
    """A Spark DataFrame as Polars (through Arrow; every value as Spark has it)."""
    return pl.from_arrow(frame.toArrow())  # type: ignore[return-value]


class Result:
    """What `sql` and `execute` give: the query runs when its rows are asked for."""

    def __init__(self, spark: Any, query: str) -> None:
        self.frame = spark.sql(query)
        self._rows: list[tuple] | None = None

    @property
    def description(self) -> list[tuple[str]]:
        return [(name,) for name in self.frame.columns]

    def pl(self) -> pl.DataFrame:
        return to_polars(self.frame)

    def fetchall(self) -> list[tuple]:
        if self._rows is None:
            self._rows = [tuple(row) for row in self.frame.collect()]
        return self._rows


class SparkConnection:
    """DuckDB's connection interface, as far as mio uses it, over `spark`."""

    def __init__(self, spark: Any, pending: dict[str, str] | None = None) -> None:
        self.spark = spark
        self.last: Result | None = None
        self.pending = {} if pending is None else pending  # shared with the connection's cursors

    def later(self, name: str, path: str) -> None:
        """A view named `name` over the Parquet files at `path`, made when a query first names it: a report reads
        two or three of a lake's thirty tables, and making a view is a round trip to Spark (four fifths of a
        `mio report --engine spark` when every table's view was made up front)."""
        self.pending[name] = path

    def sql(self, query: str, params: list[object] | dict[str, object] | None = None) -> Result:
        spark_query = to_spark(query, params)
        for name in [n for n in self.pending if re.search(rf"(?<![\w.]){re.escape(n)}(?!\w)", spark_query)]:
            self.view(name, self.pending.pop(name))
        return Result(self.spark, spark_query)

    def execute(self, query: str, params: list[object] | dict[str, object] | None = None) -> SparkConnection:
        self.last = self.sql(query, params)
        return self

    def cursor(self) -> SparkConnection:
        return SparkConnection(self.spark, self.pending)

    @property
    def description(self) -> list[tuple[str]]:
        assert self.last is not None
        return self.last.description

    def fetchall(self) -> list[tuple]:
        assert self.last is not None
        return self.last.fetchall()

    def pl(self) -> pl.DataFrame:
        assert self.last is not None
        return self.last.pl()

    def register(self, name: str, table: Any) -> None:
        """A view named `name` over an Arrow table or Polars frame (small: it goes through the driver)."""
        arrow = table.to_arrow() if isinstance(table, pl.DataFrame) else table
        self.spark.createDataFrame(arrow).createOrReplaceTempView(name)

    def unregister(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)

    def view(self, name: str, path: str, schema: Any = None) -> Any:
        """A view named `name` over the Parquet files at `path`, and its schema. Given the schema (the frame just
        written there, or an earlier part of the same table), or finding it saved beside the files (`save_schema`),
        Spark reads no file footer for it: finding a schema is a Spark job of its own, about a tenth of a second
        however small the files."""
        frame = self.read(path, schema)
        frame.createOrReplaceTempView(name)
        return frame.schema

    def read(self, path: str, schema: Any = None) -> Any:
        """The Parquet files at `path` as a Spark DataFrame, of `schema` or of the schema saved beside them."""
        saved = Path(path) / SCHEMA_FILE
        if schema is None and saved.is_file():  # a folder this process sees (a client of a cluster may not)
            from pyspark.sql.types import StructType

            schema = StructType.fromJson(json.loads(saved.read_text(encoding="utf-8")))
        return (self.spark.read if schema is None else self.spark.read.schema(schema)).parquet(path)

    def close(self) -> None:
        pass
