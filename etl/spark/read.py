"""A large CSV file read on Spark's executors instead of the driver.

The driver makes one pass over the file at I/O speed, finding where each block of whole records starts and which
line it starts at (etl.ingest.read.csv_plan: the same blocks the DuckDB engine reads one after the other). Each
block is then a task: it reads its bytes from the shared file system, splits them, renames the headers and casts the
values with the DuckDB engine's own functions, and writes its staged rows (the text the cast changes, the typed rows
and the values that did not parse) as Parquet beside the driver's own pieces. A ragged row rejects the file as it
does on DuckDB: the earliest block's reason is the file's. Small files (one block), files a block of which is not
UTF-8 and files whose quoting the csv module alone reads (etl.ingest.read.quoted_plan) are read by the driver.

The executors need the `mio` package (with its `spark` extra) installed, and the source folder and the lake at the
same path as the driver: in local mode they are this machine's; on a cluster, a shared file system."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

RESULT_SCHEMA = "block long, rows long, error_where string, error_reason string"
TASK_SCHEMA = "block long, offset long, length long, line long, first_issue long"


def executors_enabled() -> bool:
    """MIO_SPARK_READ=driver turns the executors' reading off (every file read by the driver)."""
    return os.environ.get("MIO_SPARK_READ", "executors") != "driver"


def stage_blocks(spark: Any, folder: Path, entity_name: str, path: Path, first_issue: Any) -> int | None:
    """Stage `path` on the executors into `folder` (raw_<entity>, typed_<entity>, issues); the rows read, or None
    when the file is for the driver to read. `first_issue()` gives the next batch of issue numbers."""
    import polars as pl

    from etl.ingest.read import FileRejected, contract_names, csv_plan
    from etl.ingest.schema import ENTITIES

    if not executors_enabled() or path.suffix.lower() != ".csv":
        return None
    plan = csv_plan(path)
    if plan is None or len(plan.blocks) < 2:
        return None
    renamed, _ = contract_names(pl.DataFrame(schema=dict.fromkeys(plan.header, pl.String)), path,
                                ENTITIES[entity_name])
    tasks = [(number, block.offset, block.length, block.line, first_issue())
             for number, block in enumerate(plan.blocks)]
    run = _block_task(str(path), entity_name, plan, renamed, str(folder))
    frame = spark.createDataFrame(tasks, TASK_SCHEMA).repartition(len(tasks), "block")
    results = sorted(tuple(row) for row in frame.mapInArrow(run, RESULT_SCHEMA).collect())
    failed = [r for r in results if r[2] is not None or r[3] is not None]
    if failed:
        _, _, where, reason = failed[0]
        raise FileRejected(path.name, where or "", reason or "")
    if len(results) != len(tasks):
        raise RuntimeError(f"{path.name}: {len(results)} of {len(tasks)} blocks came back from the executors")
    return sum(r[1] for r in results)


def _block_task(path: str, entity_name: str, plan: Any, renamed: dict[str, str], folder: str) -> Any:
    """The function each task runs over its blocks (a closure of plain values, pickled to the executors)."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        for batch in batches:
            rows = [_stage_block(path, entity_name, plan, renamed, folder, task)
                    for task in batch.to_pylist()]
            yield pa.RecordBatch.from_pylist(rows, schema=pa.schema([
                ("block", pa.int64()), ("rows", pa.int64()), ("error_where", pa.string()),
                ("error_reason", pa.string())]))

    return run


def _stage_block(path: str, entity_name: str, plan: Any, renamed: dict[str, str], folder: str, task: dict) -> dict:
    import polars as pl

    from etl.ingest.load import untyped
    from etl.ingest.read import FileRejected, RawFile, cast, contract_columns, plan_block
    from etl.ingest.schema import ENTITIES

    entity = ENTITIES[entity_name]
    number = task["block"]
    with open(path, "rb") as handle:
        handle.seek(task["offset"])
        block = handle.read(task["length"])
    try:
        piece = plan_block(plan, Path(path).name, number, block)
    except FileRejected as err:
        return {"block": number, "rows": 0, "error_where": err.where, "error_reason": err.why}
    piece = contract_columns(piece.rename(renamed), entity)
    typed, issues = cast(RawFile(entity, Path(path), piece, []))
    name = f"part-{entity_name}-{number:06d}.parquet"
    for table, frame in ((f"raw_{entity_name}", untyped(piece, entity)), (f"typed_{entity_name}", typed)):
        target = Path(folder) / table
        target.mkdir(exist_ok=True)
        frame.write_parquet(target / name)
    if issues.height:
        issues.select((pl.int_range(pl.len(), dtype=pl.Int64) + task["first_issue"]).alias("n"),
                      pl.lit(entity_name).alias("entity"), pl.col("line").cast(pl.Int64), pl.col("column"),
                      pl.col("rule"), pl.col("value")).write_parquet(Path(folder) / "issues" / name)
    return {"block": number, "rows": piece.height, "error_where": None, "error_reason": None}
