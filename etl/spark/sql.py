"""The DuckDB engine's SQL, run on Spark: one definition of every check and figure, transpiled by sqlglot.

Three things DuckDB has that Spark lacks are rewritten on the way: the warehouse's macros (yes_no, from
etl/ingest/sql) are expanded in place; the staging database's tables (`memory.main.x`) become Spark views of the same
name; and the warehouse as it was before the load (`e.main.x`, attached read-only by the DuckDB engine) becomes the
view `e_x` over the lake's current version."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path

import sqlglot
from sqlglot import exp

from etl.ingest.derive import SQL_DIR


@cache
def macros() -> dict[str, tuple[list[str], exp.Expression]]:
    """The `create macro` statements of the derived models: name -> (parameters, body)."""
    found = {}
    for path in sorted(SQL_DIR.glob("*.sql")):
        for statement in sqlglot.parse(path.read_text(), read="duckdb"):
            if isinstance(statement, exp.Create) and statement.kind == "MACRO":
                function = statement.this
                found[function.this.name.lower()] = ([p.name for p in function.expressions], statement.expression)
    return found


def _expand(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Anonymous) and node.name.lower() in macros():
        parameters, body = macros()[node.name.lower()]
        values = dict(zip(parameters, node.expressions, strict=True))
        return body.copy().transform(
            lambda n: values[n.name].copy() if isinstance(n, exp.Column) and not n.table and n.name in values else n)
    return node


def _exact_percentile(node: exp.Expression) -> exp.Expression:
    """percentile_cont(q) within group (order by x): Spark's exact percentile(x, q), not sqlglot's approximation."""
    if isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.PercentileCont):
        ordered = node.expression.expressions
        if len(ordered) == 1 and not ordered[0].args.get("desc"):
            return exp.Anonymous(this="percentile", expressions=[ordered[0].this.copy(), node.this.this.copy()])
    return node


def _rename(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Column) and node.args.get("catalog") is not None:
        catalog = node.text("catalog").lower()
        if catalog in ("memory", "e"):
            table = node.table if catalog == "memory" else f"e_{node.table}"
            return exp.column(node.name, table=table, quoted=node.this.quoted)
    if isinstance(node, exp.Table):
        catalog = node.catalog.lower()
        if catalog == "memory":
            return exp.Table(this=exp.to_identifier(node.name), alias=node.args.get("alias"))
        if catalog == "e":
            return exp.Table(this=exp.to_identifier(f"e_{node.name}"), alias=node.args.get("alias"))
    return node


def statements(sql: str) -> list[exp.Expression]:
    """DuckDB statements as sqlglot trees, macros expanded and staging names mapped (create macro dropped)."""
    out = []
    for statement in sqlglot.parse(sql, read="duckdb"):
        if statement is None or (isinstance(statement, exp.Create) and statement.kind == "MACRO"):
            continue
        out.append(statement.transform(_expand).transform(_rename).transform(_exact_percentile))
    return out


def _literal(value: object) -> exp.Expression:
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if isinstance(value, datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), "timestamp")
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), "date")
    return exp.Literal.string(str(value))


@lru_cache(maxsize=4096)
def _parsed(sql: str) -> exp.Expression:
    parsed = statements(sql)
    if len(parsed) != 1:
        raise ValueError(f"expected one statement, got {len(parsed)}")
    return parsed[0]


def to_spark(sql: str, params: list[object] | dict[str, object] | None = None) -> str:
    """One DuckDB query in Spark's dialect, its parameters (`?` in order, or `$name`) written in as literals."""
    tree = _parsed(sql)
    if params:
        tree = tree.copy()
        values = iter(params) if isinstance(params, list | tuple) else None

        def bind(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Placeholder):
                value = next(values) if node.this is None and values is not None else params[node.this]
                return _literal(value)
            return node

        tree = tree.transform(bind)
    return tree.sql(dialect="spark")


def models() -> list[tuple[str, str]]:
    """The derived tables as (name, Spark select), in the order the DuckDB engine builds them."""
    out = []
    for path in sorted(Path(SQL_DIR).glob("*.sql")):
        for statement in statements(path.read_text()):
            if not (isinstance(statement, exp.Create) and statement.kind == "TABLE"):
                raise ValueError(f"{path.name}: only `create or replace table ... as select` runs on Spark")
            out.append((statement.this.name, statement.expression.sql(dialect="spark")))
    return out
