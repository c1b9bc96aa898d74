"""The warehouse file, read side: opening it read-only and the one function every figure's query runs through.

Both layers stand on this module: ingest (`etl.ingest`) writes the warehouse, the metrics layer (`etl.metrics`)
reads it. Query timing for the benchmark is a hook here (`observe_queries`), not a patch of any module.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # DuckDB and Polars are imported where they are used: `mio --help` and `mio users` start without
    import duckdb
    import polars as pl



class Rows(Protocol):
    """A query's answer on either engine: its rows as Polars or as tuples."""

    def pl(self) -> pl.DataFrame: ...

    def fetchall(self) -> list[tuple[Any, ...]]: ...


class Connection(Protocol):
    """The connection the metrics layer and the command line read through: DuckDB's, or the Spark engine's over a
    lake (etl/spark/connection.py: DuckDB's SQL translated to Spark's). Only what both engines answer."""

    def sql(self, query: str, *, params: Any = None) -> Rows: ...  # noqa: ANN401 - either engine's parameters

    def execute(self, query: str, params: Any = None, /) -> Any: ...  # noqa: ANN401 - the cursor, on either engine

    def cursor(self) -> Connection: ...

    def close(self) -> None: ...


DEFAULT_DB = Path(os.environ.get("MIO_DB", "data/warehouse.duckdb"))
# Called with (sql, seconds) after every query() while registered; see observe_queries.
QueryObserver = Callable[[str, float], None]
_observers: list[QueryObserver] = []

# The results of query() on each read-only connection, kept while the connection lives: it sees one version of the
# warehouse (a load writes a new file; readers reconnect to it), so a query asked again has the same answer. One
# page asks the same outcome query several times (the overview's counts by term feed its chart, its headline changes
# and the choice of the terms they compare): at ten million applications half of the overview's query time and of
# the Employers page's was such repeats. The latest results of each connection are kept, up to KEPT_BYTES in all;
# one larger than an eighth of that (rows, not aggregates) is not kept.
KEPT_BYTES = 128 * 2**20
_results: weakref.WeakKeyDictionary[Connection, OrderedDict[tuple, pl.DataFrame]] = \
    weakref.WeakKeyDictionary()
_results_lock = threading.Lock()


def remote_marker(catalog: Path) -> Path:
    """Beside a remote lake's catalog: the lake's URI, so that whoever opens the catalog reads the files through
    fsspec (current.lake-uri beside current.duckdb)."""
    return catalog.with_suffix(".lake-uri")


def register_object_store(con: object, catalog: Path) -> None:
    """Let `con`, a connection to `catalog`, read a remote lake's files: its views name them by URI. What DuckDB has
    read of them stays in its memory (the external file cache) without asking the store again whether they changed:
    a load never changes a version's files, it writes a new version (through fsspec, DuckDB cannot tell the files'
    times, and so would read them again at every query: on a page of a hundred queries, a hundred times)."""
    marker = remote_marker(catalog)
    if marker.is_file():
        import fsspec

        scheme = marker.read_text().strip().split("://", 1)[0]
        con.register_filesystem(fsspec.filesystem(scheme))  # type: ignore[attr-defined]
        con.execute("set validate_external_file_cache = 'NO_VALIDATION'")  # type: ignore[attr-defined]


def connect_read_only(db: Path | str) -> duckdb.DuckDBPyConnection:
    path = Path(db)
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}; run `mio load --source DIR --db {path}` first")
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    register_object_store(con, path)  # the catalog of a lake in an object store names its files by URI
    with _results_lock:
        _results[con] = OrderedDict()
    return con


def forget_results() -> None:
    """Forget every kept result (the benchmark's warm runs ask the warehouse again, as a new filter would)."""
    with _results_lock:
        for kept in _results.values():
            kept.clear()


def has_table(con: Connection, name: str) -> bool:
    cur = con.cursor()
    try:
        rows = cur.execute("select count(*) from information_schema.tables where table_name = ?", [name]).fetchall()
    finally:
        cur.close()
    return bool(rows[0][0])


def is_current(con: duckdb.DuckDBPyConnection, version: str) -> bool:
    """Whether the warehouse was built by a load of this `version` of its format (etl/metrics/layout.py): its derived
    and stored tables have the layout, and hold the figures, that the reader expects."""
    import duckdb

    cur = con.cursor()
    try:
        return cur.execute("select max(version) from warehouse_format").fetchall()[0][0] == version
    except duckdb.CatalogException:  # no such table: a warehouse from before versions were written
        return False
    finally:
        cur.close()


OLD_FORMAT = ("the warehouse at {db} was built by an older version of mio; load your sources again "
              "(`mio load --source DIR --db {db}`: a load rebuilds every derived table)")


def query(con: Connection, sql: str, params: list[object] | None = None) -> pl.DataFrame:
    """Run one parameterized query on its own cursor (a connection is not thread-safe) and return Polars; on a
    connection from connect_read_only, a query asked again is answered from its kept result (_results), without
    running (observers see only the queries that run)."""
    with _results_lock:
        kept = _results.get(con)
        key = _result_key(sql, params) if kept is not None else None
        if kept is not None and key is not None and key in kept:
            kept.move_to_end(key)
            return kept[key].clone()
    started = time.perf_counter()
    cur = con.cursor()
    try:
        frame = plain_numbers(cur.sql(sql, params=params or None).pl())
    finally:
        cur.close()
        for observer in tuple(_observers):
            observer(sql, time.perf_counter() - started)
    if kept is None or key is None:
        return frame
    if frame.estimated_size() <= KEPT_BYTES // 8:
        with _results_lock:
            kept[key] = frame
            while sum(int(f.estimated_size()) for f in kept.values()) > KEPT_BYTES:
                kept.popitem(last=False)
    return frame.clone()


def _result_key(sql: str, params: list[object] | None) -> tuple | None:
    """What a kept result is found by: the SQL and its positional values (None: values that cannot be a key)."""
    if params is not None and not isinstance(params, list | tuple):
        return None
    key = (sql, tuple(params or ()))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def plain_numbers(frame: pl.DataFrame) -> pl.DataFrame:
    """DuckDB's sums and count_if arrive as Decimal(38, 0), and a division of them keeps scale 0 (3 / 5 = 1): every
    whole-number decimal becomes Int64 and every other decimal Float64, here, for every query."""
    import polars as pl

    fixes = [pl.col(name).cast(pl.Int64 if dtype.scale == 0 else pl.Float64)
             for name, dtype in frame.schema.items() if isinstance(dtype, pl.Decimal)]
    return frame.with_columns(fixes) if fixes else frame


@contextlib.contextmanager
def observe_queries(observer: QueryObserver) -> Iterator[None]:
    """Call `observer(sql, seconds)` after every query() inside the block (the benchmark's timer)."""
    _observers.append(observer)
    try:
        yield
    finally:
        _observers.remove(observer)


@cache
def sql_text(path: Path) -> str:
    """A SQL file of the project (they do not change while the process runs)."""
    return path.read_text()
