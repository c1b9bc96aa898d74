"""What the loads did: history, files, quarantine reasons and rows, expectation results (the Data quality page)."""

from __future__ import annotations

import polars as pl

from etl.warehouse import Connection, has_table, query


def load_history(con: Connection) -> pl.DataFrame:
    if not has_table(con, "load_history"):
        return pl.DataFrame()
    return query(con, "select * from load_history order by load_id desc")


def watched_deliveries(con: Connection) -> pl.DataFrame:
    """What `mio watch` did with each delivery of its drop folder, newest first (none: no watcher has run)."""
    if not has_table(con, "watched_deliveries"):
        return pl.DataFrame()
    return query(con, "select delivery, handled_at, status, load_id, rows_quarantined, reason, alert, moved_to "
                      "from watched_deliveries order by delivery_id desc")


def load_files(con: Connection, load_id: int) -> pl.DataFrame:
    return query(con, "select entity, file, rows_read, rows_loaded, rows_quarantined, warnings, sha256 "
                      "from load_files where load_id = ? order by entity", [load_id])


def quarantine_reasons(con: Connection, load_id: int) -> pl.DataFrame:
    return query(con, "select file, column_name as column, rule, count(*) as rows, min(line) as first_line "
                      "from quarantine where load_id = ? group by 1, 2, 3 order by rows desc, file", [load_id])


def quarantined_rows(con: Connection, load_id: int, limit: int | None = None) -> pl.DataFrame:
    sql = ("select file, line, column_name as column, source_column as source, rule, value, record from quarantine "
           "where load_id = ? "
           "order by file, line, column_name")
    params: list[object] = [load_id]
    if limit is not None:
        sql += " limit ?"
        params.append(limit)
    return query(con, sql, params)


def expectation_results(con: Connection, load_id: int) -> pl.DataFrame:
    return query(con, "select entity, expectation, column_name as column, success, unexpected_count "
                      "from expectation_results where load_id = ? "
                      "order by success, entity, expectation, column_name", [load_id])  # ties in one fixed order
