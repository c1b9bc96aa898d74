"""A load as the product runs it: ingest validates and writes the core and derived tables, and the metrics layer
stores its unfiltered outcome tables in the same transaction. The command line, the dashboard's Import page and the
tests load through here; ingest itself never imports the metrics layer."""

from __future__ import annotations

from pathlib import Path

from etl.ingest.load import LoadResult, Progress, load_source
from etl.metrics.outcomes import build_outcome_cells


def load(source: Path, db: Path, max_bad_rows: float = 0.05, progress: Progress | None = None,
         mapping: Path | None = None, dry_run: bool = False) -> LoadResult:
    """Validate `source` (through `mapping`, or the source's mapping.yaml) and load it into `db` with every table the
    dashboard and reports read; `dry_run` checks everything and writes nothing."""
    return load_source(source, db, max_bad_rows=max_bad_rows, progress=progress, builders=(build_outcome_cells,),
                       mapping=mapping, dry_run=dry_run)
