"""The derived tables (offer attribution, facts, destinations, filter values): rebuilt from the core tables by the
SQL files under `sql/`, in file order, inside every load's transaction."""

from __future__ import annotations

from pathlib import Path

import duckdb

SQL_DIR = Path(__file__).parent / "sql"


def build_derived(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild every derived table from the core tables, in file order (the load's builders then store the outcome
    tables and mark the warehouse's format: etl/pipeline.py)."""
    # Format 6 (one day's development) had fact_applications as a view over two tables of its own: gone since 7.
    if con.execute("select count(*) from information_schema.tables where table_catalog = current_database() and "
                   "table_schema = 'main' and table_name = 'fact_applications' and table_type = 'VIEW'"
                   ).fetchall()[0][0]:
        con.execute("drop view fact_applications")
        con.execute("drop table if exists application_facts")
        con.execute("drop table if exists project_groups")
    for path in sorted(SQL_DIR.glob("*.sql")):
        con.execute(path.read_text())
