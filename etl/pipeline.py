"""A load as the product runs it: ingest validates and writes the core and derived tables, and the metrics layer
stores its unfiltered outcome tables in the same transaction. The command line, the dashboard's Import page and the
tests load through here; ingest itself never imports the metrics layer."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from etl.ingest.load import Builder, LoadResult, Origin, Progress, load_source
from etl.ingest.model_tests import check_models
from etl.metrics.layout import mark_format
from etl.metrics.outcomes import build_outcome_cells


class ModelTestFailed(RuntimeError):
    """The derived tables of a load broke a data test (etl/ingest/sql/tests.yaml): a bug in the project's SQL."""


def _checked(con: duckdb.DuckDBPyConnection) -> None:
    failures = check_models(con)
    if failures:
        raise ModelTestFailed("; ".join(failures))


def load(source: Path, db: Path, max_bad_rows: float = 0.05, progress: Progress | None = None,
         mapping: Path | None = None, dry_run: bool = False, validator: str = "sql", origin: str | Origin | None = None
         ) -> LoadResult:
    """Validate `source` (through `mapping`, or the source's mapping.yaml) and load it into `db` with every table the
    dashboard and reports read; `dry_run` checks everything and writes nothing."""
    builders: tuple[Builder, ...] = (build_outcome_cells, mark_format)
    if os.environ.get("MIO_CHECK_MODELS") == "1":
        builders += (_checked,)
    return load_source(source, db, max_bad_rows=max_bad_rows, progress=progress, builders=builders,
                       mapping=mapping, dry_run=dry_run, validator=validator, origin=origin)
