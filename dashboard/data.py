"""The dashboard's only door to the warehouse: a cached read-only connection and cached figures.

Pages ask for figures by naming a function of the metrics layer (`etl.metrics` or `etl.insights`); this module runs
it on a cursor of the shared read-only connection and caches the small frame it returns.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl
import streamlit as st

from etl import insights, metrics
from etl.warehouse import DEFAULT_DB, has_table, query

MODULES = {"etl.metrics": metrics, "etl.insights": insights}


def warehouse_path() -> Path:
    return Path(os.environ.get("MIO_DB", str(DEFAULT_DB)))


@st.cache_resource(max_entries=2)
def _connect(path: str, version: str) -> duckdb.DuckDBPyConnection:
    # Keyed by the file's path and mtime: a new `mio load` replaces the file, and the next rerun opens the new one.
    # (Streamlit leaves parameters whose names start with "_" out of the key, so this one must not.)
    return duckdb.connect(path, read_only=True)


def version() -> str:
    """The warehouse's path and modification time: changes whenever a load replaces the file; part of every key."""
    path = warehouse_path()
    return f"{path.resolve()}@{path.stat().st_mtime_ns}" if path.exists() else f"{path}@none"


def connection() -> duckdb.DuckDBPyConnection | None:
    """The shared read-only connection (each query takes its own cursor), or None before the first load."""
    path = warehouse_path()
    if not path.exists():
        return None
    con = _connect(str(path), version())
    return con if has_table(con, "fact_applications") else None


@st.cache_data(ttl=600, max_entries=512, show_spinner=False)
def _compute(module: str, name: str, args: tuple, kwargs: tuple, version: str) -> pl.DataFrame:
    con = connection()
    if con is None:
        return pl.DataFrame()
    return getattr(MODULES[module], name)(con, *args, **dict(kwargs))


def figure(function: Callable[..., pl.DataFrame], *args: object, **kwargs: object) -> pl.DataFrame:
    """`function(connection, *args, **kwargs)` from the metrics layer, cached per warehouse version."""
    if function.__module__ not in MODULES:
        raise ValueError(f"{function.__qualname__} is not part of the metrics layer")
    return _compute(function.__module__, function.__name__, args, tuple(sorted(kwargs.items())), version())


@st.cache_data(ttl=600, max_entries=64, show_spinner=False)
def choices(column: str, version: str) -> list[str]:
    """Distinct values of a filter column, for the sidebar."""
    con = connection()
    if con is None or column not in ("institution", "class_level", "industry", "platform", "term"):
        return []
    order = "min(term_start)" if column == "term" else column
    frame = query(con, f"select {column} as v from fact_applications group by {column} order by {order}")
    return frame["v"].to_list()
