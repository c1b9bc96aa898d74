"""`mio load --engine spark --lake URI`: the DuckDB engine's load (etl/ingest/load.py: the same reading, casting,
expectation suites, references, placement rules and quarantine) with its staged rows and checks in Spark, and the
warehouse written as a new version of a Parquet lake (etl/spark/lake.py) with the same tables, derived tables and
stored outcome tables, from the same SQL (transpiled: etl/spark/sql.py).

A large unquoted CSV file is read on the executors, a block of lines per task, each split and cast with the DuckDB
engine's own code (etl/spark/read.py); the driver reads the others a piece at a time with the same code (bounded
memory). Either way the pieces are Parquet files in the lake's staging folder, and everything after runs in Spark."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from etl.ingest.load import (
    Builder,
    LoadResult,
    Origin,
    Progress,
    S,
    Staged,
    counted_before,
    issues_added,
    quoted,
    run_load,
)
from etl.ingest.mapping import Mapping
from etl.ingest.schema import ENTITIES, LOAD_ORDER, META_TABLES
from etl.spark.connection import SparkConnection, save_schema
from etl.spark.lake import Lake, duckdb_catalog
from etl.spark.session import spark_session
from etl.spark.sql import models, to_spark

ISSUES = {"n": pl.Int64, "entity": pl.String, "line": pl.Int64, "column": pl.String, "rule": pl.String,
          "value": pl.String}
_BATCH = 1 << 42  # issue numbers: the batch (one call) in the high bits, Spark's row id in the low ones


def _name(table: str) -> str:
    return table.removeprefix(f"{S}.")


class SparkStaging:
    """The DuckDB engine's staging database (load._Staging; both are a load.Staging), in Spark: each staged table
    a folder of Parquet files in the lake's staging folder, seen as a Spark view of the same name."""

    def __init__(self, spark: Any, folder: Path) -> None:
        self.spark = spark
        self.folder = folder
        self.con = SparkConnection(spark)
        self.parts: dict[str, int] = {}
        self.schemas: dict[str, Any] = {}  # each staged table's, known from its first part
        self.batches = 0
        self.changes: dict[str, int] = {}  # entity -> how many times issues were added to it
        self._write_part("issues", pl.DataFrame(schema=ISSUES))

    def _write_part(self, name: str, frame: pl.DataFrame) -> None:
        folder = self.folder / name
        folder.mkdir(exist_ok=True)
        number = self.parts.get(name, 0)
        frame.write_parquet(folder / f"part-{number:05d}.parquet")
        self.parts[name] = number + 1
        self._view(name)

    def _view(self, name: str) -> None:
        self.schemas[name] = self.con.view(name, str(self.folder / name), self.schemas.get(name))

    def append(self, table: str, frame: pl.DataFrame) -> None:
        self._write_part(_name(table), frame)

    def _batch(self) -> int:
        self.batches += 1
        return self.batches * _BATCH

    def add_issues(self, entity: str, issues: pl.DataFrame) -> None:
        if issues.height:
            first = self._batch()
            self._write_part("issues", issues.select(
                (pl.int_range(pl.len(), dtype=pl.Int64) + first).alias("n"), pl.lit(entity).alias("entity"),
                pl.col("line").cast(pl.Int64), pl.col("column"), pl.col("rule"), pl.col("value")))
            issues_added(self, entity)

    def add_failing(self, entity: str, query: str) -> None:
        """Add the rows of `query` (line, column, rule, value) as issues of `entity`, numbered in Spark."""
        self.spark.sql(to_spark(f"select * from ({query})")).toDF("line", "column", "rule", "value") \
            .createOrReplaceTempView("found")
        found = self.spark.sql(f"select {self._batch()} + monotonically_increasing_id() as n, "
                               f"{quoted(entity)} as entity, "
                               "cast(line as bigint) as line, `column`, rule, cast(value as string) as value "
                               "from found")
        # Counted first (kept in memory meanwhile): most checks find nothing, and then nothing is written and the
        # entity's rows need not be asked again whether they are clean.
        found.persist()
        try:
            if found.count():
                found.write.mode("append").parquet(str(self.folder / "issues"))
                self._view("issues")
                issues_added(self, entity)
        finally:
            found.unpersist()

    def stage_blocks(self, entity: Any, path: Path) -> int | None:
        """A large unquoted CSV file read, cast and staged by the executors, a block per task (etl/spark/read.py);
        None: the driver reads this one."""
        from etl.spark.read import stage_blocks

        rows = stage_blocks(self.spark, self.folder, entity.name, path, self._batch)
        if rows is not None:
            issues_added(self, entity.name)
            for table in (f"raw_{entity.name}", f"typed_{entity.name}", "issues"):
                self.parts.setdefault(table, 0)
                if (self.folder / table).exists():
                    self._view(table)
        return rows

    def frame(self, table: str) -> Any:
        """A staged table as a Spark DataFrame, for Great Expectations' Spark execution engine."""
        return self.spark.sql(to_spark(f"select * from {table}"))

    def count(self, query: str) -> int:
        return int(self.spark.sql(to_spark(f"select count(*) from {query}")).collect()[0][0])

    def release(self) -> None:
        """The staged rows stay until the new version is written (it reads them); close removes them."""

    def close(self) -> None:
        for name in self.parts:
            with contextlib.suppress(Exception):
                self.spark.catalog.dropTempView(name)
        shutil.rmtree(self.folder, ignore_errors=True)


class LakeExisting:
    """The lake's current version, seen as views `e_<table>` (the DuckDB engine's attached `e.main.<table>`)."""

    def __init__(self, stage: SparkStaging, lake: Lake) -> None:
        self.con = stage.con
        self.counted: dict[str, int] = {}
        self.tables = set(lake.tables())
        for name, folder in lake.tables().items():
            self.con.view(f"e_{name}", str(folder))

    def has(self, name: str) -> bool:
        return name in self.tables

    def rows(self, name: str) -> int:
        return counted_before(self, name, f"e_{name}")

    def close(self) -> None:
        for name in self.tables:
            self.con.unregister(f"e_{name}")


# The lake's bookkeeping tables, as the DuckDB warehouse declares them (etl/ingest/schema.py), in Polars' types.
_POLARS_OF: dict[str, pl.DataType] = {"bigint": pl.Int64(), "integer": pl.Int32(), "timestamp": pl.Datetime("us"),
                                      "varchar": pl.String(), "boolean": pl.Boolean()}
META_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    name: {column: _POLARS_OF[kind] for column, kind in META_TABLES[name]}
    for name in ("load_history", "load_files", "quarantine", "expectation_results")}


class LakeTarget:
    """A load's target on Spark: stages in the lake's staging folder, writes a new version, switches the pointer."""

    def __init__(self, spark: Any, lake: Lake) -> None:
        self.spark = spark
        self.lake = lake
        self.extra_steps = len(models()) + 1  # the derived tables are reported one by one, with outcome_cells

    def exists(self) -> bool:
        return self.lake.exists()

    def staging(self) -> SparkStaging:
        return SparkStaging(self.spark, self.lake.staging())

    def lock(self) -> contextlib.AbstractContextManager:
        from etl.ingest.load import writer_lock

        self.lake.root.mkdir(parents=True, exist_ok=True)
        return writer_lock(self.lake.root / "lake")

    def existing(self, stage: SparkStaging) -> LakeExisting:
        return LakeExisting(stage, self.lake)

    def write(self, stage: SparkStaging, origin: Origin, staged: dict[str, Staged], quarantine: pl.DataFrame,
              started: datetime, progress: Callable[[str], None], builders: tuple[Builder, ...],
              mapping: Mapping | None) -> int:
        return _write_version(self, stage, origin, staged, quarantine, started, progress, mapping)


def _save(con: SparkConnection, frame: Any, version: Path, name: str) -> None:
    """Write a Spark DataFrame as table `name` of the new version, and see it as a view of that name from there."""
    frame.write.parquet(str(version / name))
    save_schema(version / name, frame.schema)
    con.view(name, str(version / name), frame.schema)


def _polars_frame(spark: Any, frame: pl.DataFrame) -> Any:
    return spark.createDataFrame(frame.to_arrow())


def _write_version(target: LakeTarget, stage: SparkStaging, origin: Origin, staged: dict[str, Staged],
                   quarantine: pl.DataFrame, started: datetime, progress: Callable[[str], None],
                   mapping: Mapping | None) -> int:
    spark, con, lake = target.spark, stage.con, target.lake
    previous = lake.tables()
    version = lake.new_version()
    try:
        for name in LOAD_ORDER:
            entity = ENTITIES[name]
            columns = ", ".join(entity.column_names)
            parts = []
            if name in staged:
                progress(f"writing {name}")
                parts.append(f"select {columns} from {staged[name].good()}")
                if name in previous:
                    con.view(f"e_{name}", str(previous[name]))
                    match = " and ".join(f"s.{k} is not distinct from t.{k}" for k in entity.key)
                    parts.append(f"select {columns} from e.main.{name} t where not exists (select 1 from "
                                 f"(select {', '.join(entity.key)} from {staged[name].good()}) s where {match})")
            elif name in previous:
                con.view(f"e_{name}", str(previous[name]))
                parts.append(f"select {columns} from e.main.{name}")
            if not parts:
                empty = pl.DataFrame(schema={c.name: _polars_type(c.type) for c in entity.columns})
                _save(con, _polars_frame(spark, empty), version, name)
                continue
            _save(con, spark.sql(to_spark(" union all ".join(parts))), version, name)
        load_id = 1
        if "load_history" in previous:
            con.view("e_load_history", str(previous["load_history"]))
            load_id = int(con.sql("select coalesce(max(load_id), 0) + 1 from e.main.load_history").fetchall()[0][0])
        reports = [s.report for s in staged.values()]
        new_rows: dict[str, list[list[Any]]] = {
            "load_history": [[load_id, started, datetime.now(UTC).replace(tzinfo=None), origin.source,
                              "loaded", sum(r.rows_read for r in reports), sum(r.rows_loaded for r in reports),
                              sum(r.rows_quarantined for r in reports),
                              origin.mapping_file,
                              mapping.sha256 if mapping else None, mapping.text if mapping else None]],
            "load_files": [[load_id, r.entity, r.file, r.sha256, r.rows_read, r.rows_loaded, r.rows_quarantined,
                            "\n".join(r.warnings) or None] for r in reports],
            "expectation_results": [[load_id, e.entity, e.expectation, e.column, e.success, e.unexpected_count]
                                    for s in staged.values() for e in s.expectations],
        }
        for name, schema in META_SCHEMAS.items():
            if name == "quarantine":
                new = quarantine.select(pl.lit(load_id, pl.Int64).alias("load_id"), "entity", "file", "line",
                                        pl.col("column").alias("column_name"), pl.col("source").alias("source_column"),
                                        "rule", "value", "record").cast({c: kind for c, kind in schema.items()})
            else:
                new = pl.DataFrame(new_rows[name], schema={c: kind for c, kind in schema.items()}, orient="row")
            frame = _polars_frame(spark, new)
            if name in previous:
                frame = con.read(str(previous[name])).unionByName(frame)
            _save(con, frame, version, name)
        build_lake_tables(con, version, progress)
    except BaseException:
        shutil.rmtree(version, ignore_errors=True)
        raise
    lake.switch(version)
    duckdb_catalog(lake.root)  # the dashboard's view of the new version
    return load_id


def _polars_type(kind: str) -> pl.DataType:
    from etl.ingest.schema import BOOL, DATE, DECIMAL, INT, TIMESTAMP

    return {BOOL: pl.Boolean(), DATE: pl.Date(), TIMESTAMP: pl.Datetime("us"), INT: pl.Int64(),
            DECIMAL: pl.Float64()}.get(kind, pl.String())


def build_lake_tables(con: SparkConnection, version: Path, progress: Callable[[str], None] = lambda _m: None
                      ) -> None:
    """The derived tables (etl/ingest/sql, transpiled) and the stored outcome tables of the metrics layer, each
    written to `version` and read back from there by the next."""
    from etl.metrics.layout import format_version
    from etl.metrics.outcomes import outcome_cells_sql, outcome_report_rows

    spark = con.spark
    for name, select in models():
        progress(f"building {name}")
        _save(con, spark.sql(select), version, name)
    _save(con, spark.sql(f"select '{format_version()}' as version"), version, "warehouse_format")
    progress("building outcome_cells")
    _save(con, spark.sql(to_spark(outcome_cells_sql())), version, "outcome_cells")
    progress("building outcome_report")
    _save(con, _polars_frame(spark, outcome_report_rows(con)), version, "outcome_report")


def load_lake(source: Path, lake: str | Path, spark: Any = None, remote: str | None = None,
              max_bad_rows: float = 0.05, progress: Progress | None = None, mapping: Path | None = None,
              dry_run: bool = False, validator: str = "sql", origin: str | Origin | None = None) -> LoadResult:
    """Validate `source` and load it as a new version of the lake at `lake`; a rejected source leaves the lake as
    it was. The arguments are load_source's; `spark`: a session (default: local mode, or Spark Connect at
    `remote`)."""
    session = spark or spark_session(remote)
    return run_load(source, LakeTarget(session, Lake(lake)), max_bad_rows, progress, (), mapping, dry_run, validator,
                    origin)


def lake_connection(lake: str | Path, spark: Any = None, remote: str | None = None) -> SparkConnection:
    """A DuckDB-shaped connection whose tables are the lake's current version (for `mio report --engine spark`)."""
    found = Lake(lake)
    if not found.exists():
        raise FileNotFoundError(f"no lake at {found.root} (load one with mio load --engine spark)")
    con = SparkConnection(spark or spark_session(remote))
    for name, folder in found.tables().items():
        con.later(name, str(folder))
    return con
