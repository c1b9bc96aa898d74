"""Opening the warehouse and running the project's SQL files against it."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import polars as pl

from etl.schema import ENTITIES, create_table_sql

SQL_DIR = Path(__file__).parent / "sql"
DEFAULT_DB = Path(os.environ.get("MIO_DB", "data/warehouse.duckdb"))
# The derived table built last (by etl.metrics.build_outcome_cells, after the SQL files): a warehouse that has it
# holds every derived table this version reads.
LAST_DERIVED = "outcome_cells"

META_TABLES = {
    "load_history": """create table if not exists load_history (
        load_id bigint, started_at timestamp, finished_at timestamp, source varchar, status varchar,
        rows_read bigint, rows_loaded bigint, rows_quarantined bigint)""",
    "load_files": """create table if not exists load_files (
        load_id bigint, entity varchar, file varchar, sha256 varchar, rows_read bigint, rows_loaded bigint,
        rows_quarantined bigint, warnings varchar)""",
    "quarantine": """create table if not exists quarantine (
        load_id bigint, entity varchar, file varchar, line bigint, column_name varchar, rule varchar,
        value varchar, record varchar)""",
    "expectation_results": """create table if not exists expectation_results (
        load_id bigint, entity varchar, expectation varchar, column_name varchar, success boolean,
        unexpected_count bigint)""",
}


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the core and bookkeeping tables if the warehouse is new."""
    for entity in ENTITIES.values():
        con.execute(create_table_sql(entity))
    for ddl in META_TABLES.values():
        con.execute(ddl)


def read_sql(relative: str) -> str:
    return (SQL_DIR / relative).read_text()


def build_derived(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the derived tables (attribution, facts, destinations) from the core tables, in file order."""
    for path in sorted((SQL_DIR / "derived").glob("*.sql")):
        con.execute(path.read_text())


def connect_read_only(db: Path | str) -> duckdb.DuckDBPyConnection:
    path = Path(db)
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}; run `mio load --source DIR --db {path}` first")
    return duckdb.connect(str(path), read_only=True)


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    cur = con.cursor()
    try:
        rows = cur.execute("select count(*) from information_schema.tables where table_name = ?", [name]).fetchall()
    finally:
        cur.close()
    return bool(rows[0][0])


def query(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> pl.DataFrame:
    """Run one parameterized query on its own cursor (a connection is not thread-safe) and return Polars."""
    cur = con.cursor()
    try:
        return cur.sql(sql, params=params or None).pl()
    finally:
        cur.close()
