"""The derived tables (offer attribution, facts, destinations, filter values): rebuilt from the core tables by the
SQL files under `sql/`, in file order, inside every load's transaction."""

from __future__ import annotations

from pathlib import Path

import duckdb

SQL_DIR = Path(__file__).parent / "sql"


def build_derived(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild every derived table from the core tables, in file order."""
    for path in sorted(SQL_DIR.glob("*.sql")):
        con.execute(path.read_text())
