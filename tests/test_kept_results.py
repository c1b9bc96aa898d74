"""Results kept on a read-only connection (etl/warehouse.py, `query`): a query asked again on a connection from
connect_read_only is answered from its kept result without running; the figures are the same; a caller cannot change
what is kept; a read-write connection, a large result and values that cannot be a key are never kept; and a page
that asks the same outcome query for several of its figures runs it once."""

from __future__ import annotations

import uuid
from pathlib import Path

import duckdb
import polars as pl
import pytest

from dashboard import registry
from etl import warehouse
from etl.warehouse import connect_read_only, forget_results, observe_queries, query
from tests.conftest import run_app


def _counting(con: duckdb.DuckDBPyConnection) -> tuple[str, list[int]]:
    """A function on `con` that notes every call (a query that runs it ran), and its name: a name of its own, as
    another test's connection to the same file shares DuckDB's instance, and with it the functions defined on it."""
    calls: list[int] = []

    def counted(x: int) -> int:
        calls.append(x)
        return x

    name = f"counted_{uuid.uuid4().hex}"
    con.create_function(name, counted, [int], int)
    return name, calls


def test_a_query_asked_again_on_a_read_only_connection_does_not_run(hand_db: Path) -> None:
    con = connect_read_only(hand_db)
    try:
        counted, calls = _counting(con)
        sql = f"select {counted}(count(*)::int) as n, ? as asked from students"
        first = query(con, sql, ["a"])
        again = query(con, sql, ["a"])
        assert calls == [first["n"][0]] and first.equals(again)
        query(con, sql, ["b"])  # other values: another query
        assert len(calls) == 2
        # What a caller does to its frame does not reach what is kept.
        again.insert_column(0, pl.Series("extra", [1]))
        assert query(con, sql, ["a"]).columns == ["n", "asked"] and len(calls) == 2
        forget_results()
        query(con, sql, ["a"])
        assert len(calls) == 3
    finally:
        con.close()


def test_what_is_never_kept(hand_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection that may write (the loader's, a test's), values that cannot be a key, and a result larger than
    an eighth of KEPT_BYTES run every time."""
    writable = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        counted, calls = _counting(writable)
        for _ in range(2):
            query(writable, f"select {counted}(1) as one")
        assert len(calls) == 2
    finally:
        writable.close()
    con = connect_read_only(hand_db)
    try:
        counted, calls = _counting(con)
        for _ in range(2):
            query(con, f"select {counted}(1) as one, ?::varchar[] as listed", [["x", "y"]])
        assert len(calls) == 2
        monkeypatch.setattr(warehouse, "KEPT_BYTES", 8 * 64)
        big = f"select {counted}(i::int) as i from range(100) t(i)"
        query(con, big)
        query(con, big)
        assert len(calls) == 2 + 200
        small = f"select {counted}(1) as one"
        query(con, small)
        query(con, small)
        assert len(calls) == 2 + 200 + 1
    finally:
        con.close()


def test_the_overview_runs_each_of_its_queries_once(sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
                                                     ) -> None:
    """The overview with a term range: its counts by term feed the chart, the headline changes and the terms they
    compare, and its counts by institution the comparison with the other institutions and its suppression; each
    query (SQL and values) runs once, and the figures are the metrics layer's (test_dashboard checks them)."""
    _, db = sample
    ran: list[str] = []
    at = run_app(db, monkeypatch, term_from="2024-spring", term_to="2025-fall")
    forget_results()
    from dashboard import data

    data.st.cache_data.clear()
    with observe_queries(lambda sql, _seconds: ran.append(sql)):
        at.switch_page(registry.page("overview").file).run()
    assert not at.exception, at.exception
    outcome = [sql for sql in ran if "with applied as" in sql]
    assert len(outcome) == len(set(outcome)) >= 3, len(outcome)
