"""The dashboard's only door to the warehouse: a cached read-only connection and cached figures.

Pages ask for figures by naming a function of the metrics layer (`etl.metrics`); this module runs
it on a cursor of the shared read-only connection and caches the small frame it returns.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar, cast

import duckdb
import polars as pl
import streamlit as st

from etl.metrics import adjusted, audience, insights, outcomes, quality, report
from etl.metrics.layout import format_version
from etl.warehouse import DEFAULT_DB, connect_read_only, is_current, remote_marker

T = TypeVar("T")
MODULES = {module.__name__: module for module in (outcomes, insights, audience, quality, report, adjusted)}


def warehouse_path() -> Path:
    return Path(os.environ.get("MIO_DB", str(DEFAULT_DB)))


class StoreUnavailable(RuntimeError):
    """The lake served from an object store (`mio serve --lake s3://…`) did not answer a page's query: the page says
    so, rather than showing DuckDB's traceback of the store's client."""


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """A DuckDB error inside the block is StoreUnavailable when the warehouse is a remote lake's catalog and its store
    does not answer now (asked again, once); any other error goes on as it is."""
    try:
        yield
    except duckdb.Error as exc:
        marker = remote_marker(path)
        if not marker.is_file():
            raise
        from etl.spark.lake import RemoteLake
        from etl.stores import StoreError

        try:
            RemoteLake(marker.read_text().strip()).current()
        except StoreError as down:
            raise StoreUnavailable(str(down)) from exc
        raise


# One read-only connection per warehouse file, shared by every session (each query takes its own cursor).
# Not st.cache_resource: DuckDB keeps one database instance per path in a process, so a connection opened after
# `mio load` replaced the file would still see the old file while the old connection lives. The old one must be
# closed first, which a cache that only forgets cannot do.
_lock = threading.Lock()
# path -> (version, connection, whether the warehouse holds the derived tables yet)
_open: dict[str, tuple[str, duckdb.DuckDBPyConnection, bool]] = {}


def _connect(path: str, current: str) -> tuple[duckdb.DuckDBPyConnection, bool]:
    with _lock:
        known = _open.get(path)
        if known is None or known[0] != current:
            if known is not None:
                known[1].close()
            con = connect_read_only(path)
            # Checked once per version of the file, not on every rerun: a read-only file cannot change.
            _open[path] = (current, con, is_current(con, format_version()))
        return _open[path][1], _open[path][2]


def version() -> str:
    """The warehouse's path and modification time: changes whenever a load replaces the file; part of every key."""
    path = warehouse_path()
    return f"{path.resolve()}@{path.stat().st_mtime_ns}" if path.exists() else f"{path}@none"


def connection() -> duckdb.DuckDBPyConnection | None:
    """The shared read-only connection (each query takes its own cursor), or None before the first load."""
    path = warehouse_path()
    if not path.exists():
        return None
    with _reading(path):
        con, ready = _connect(str(path), version())
    return con if ready else None


def loaded() -> duckdb.DuckDBPyConnection:
    """The connection, for what a page runs after it has found a loaded warehouse (a download built on a click)."""
    con = connection()
    if con is None:
        raise RuntimeError(f"no loaded warehouse at {warehouse_path()}")
    return con


@st.cache_data(ttl=600, max_entries=512, show_spinner=False)
def _compute(module: str, name: str, args: tuple, kwargs: tuple, version: str) -> pl.DataFrame | str:
    con = connection()
    if con is None:
        return pl.DataFrame()
    with _reading(warehouse_path()):
        return getattr(MODULES[module], name)(con, *args, **dict(kwargs))


# Sessions asking for the same figure at once (ten directors opening the overview) compute it once: the first takes
# the key's lock and fills the cache, the others wait for it and read the cache. Striped, so the locks stay few.
_STRIPES = [threading.Lock() for _ in range(64)]


def figure(function: Callable[..., T], *args: object, **kwargs: object) -> T:
    """`function(connection, *args, **kwargs)` from the metrics layer, cached per warehouse version."""
    if function.__module__ not in MODULES:
        raise ValueError(f"{function.__qualname__} is not part of the metrics layer")
    key = (function.__module__, function.__name__, args, tuple(sorted(kwargs.items())), version())
    with _STRIPES[hash(key) % len(_STRIPES)]:
        return cast(T, _compute(*key))


@st.cache_data(ttl=600, max_entries=64, show_spinner=False)
def choices(column: str, version: str, institution: str | None = None) -> list[str]:
    """Distinct values of a filter column, for the sidebar; a bound director's (`institution`) only."""
    con = connection()
    if con is None or column not in outcomes.FILTER_COLUMNS:
        return []
    with _reading(warehouse_path()):
        return outcomes.filter_choices(con, column, institution)
