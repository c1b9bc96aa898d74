"""The expectation suites under `expectations/`, compiled to SQL and run where the data is staged (DuckDB).

Each suite is the Great Expectations JSON that `etl.ingest.validate` hands to Great Expectations itself; here every
expectation becomes one query that returns only the rows that fail it, so a load never moves the whole file into
pandas to check it. The two ways give the same quarantine, row for row, on every rule of every suite (a test breaks
each expectation of each suite and compares them: tests/test_rules.py). A suite that uses an expectation or a row
condition this compiler does not know is refused by name, never skipped.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any


def _suites_folder() -> Path:
    """MIO_EXPECTATIONS when set; else the suites shipped in the installed package (`etl/expectations/`, built from
    the checkout's top-level `expectations/` folder); else that folder itself (a source checkout)."""
    if os.environ.get("MIO_EXPECTATIONS"):
        return Path(os.environ["MIO_EXPECTATIONS"])
    packaged = Path(__file__).resolve().parents[1] / "expectations"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "expectations"


EXPECTATIONS_DIR = _suites_folder()
LINE = "__line"  # the staged table's line column (etl.ingest.read.LINE)


@dataclass
class ExpectationResult:
    entity: str
    expectation: str
    column: str
    success: bool
    unexpected_count: int


class UnsupportedRule(ValueError):
    """An expectation (or row condition) in a suite that the SQL compiler does not translate."""


def suite_path(entity: str) -> Path:
    return EXPECTATIONS_DIR / f"{entity}.json"


def load_suite_dict(entity: str) -> dict[str, Any]:
    return json.loads(suite_path(entity).read_text())


def describe(kind: str, kwargs: dict[str, Any]) -> str:
    """A short, human rule name for the quarantine: 'not null', 'in set [a, b]', 'between 1 and 5'."""
    names = {
        "expect_column_values_to_not_be_null": "not null",
        "expect_column_values_to_be_unique": "unique",
        "expect_compound_columns_to_be_unique": "unique together",
    }
    rule = names.get(kind, kind.removeprefix("expect_").replace("_", " "))
    if "value_set" in kwargs:
        rule = f"in set [{', '.join(map(str, kwargs['value_set']))}]"
    elif kind.endswith("to_be_between"):
        lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
        rule = f"between {lo:g} and {hi:g}" if hi is not None else f">= {lo:g}"
    elif "column_A" in kwargs:
        rule = f"{kwargs['column_A']} >= {kwargs['column_B']}"
    condition = kwargs.get("row_condition")
    if condition:
        text = condition.get("pass_through_filter", "") if isinstance(condition, dict) else str(condition)
        rule += f" when {text.replace(chr(34), '')}"
    return rule


def rule_column(kwargs: dict[str, Any]) -> str:
    """The quarantine's column for an expectation: its column, column A of a pair, or the compound's columns."""
    return kwargs.get("column") or kwargs.get("column_A") or ",".join(kwargs.get("column_list", []))


def _name(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _literal(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        raise UnsupportedRule(f"literal {value!r}")
    if isinstance(value, int | float):
        return repr(float(value)) if isinstance(value, float) else str(value)
    return "'" + str(value).replace("'", "''") + "'"


# One comparison of a pandas row condition: column == "text" (or !=, or a number), joined by `and` / `&`.
_COMPARISON = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=)\s*("[^"]*"|\'[^\']*\'|-?\d+(?:\.\d+)?)\s*')


def _condition(kwargs: dict[str, Any]) -> str | None:
    """The row condition of an expectation (Great Expectations' pandas parser) as a SQL predicate."""
    condition = kwargs.get("row_condition")
    if not condition:
        return None
    text = condition.get("pass_through_filter") if isinstance(condition, dict) else condition
    if not isinstance(text, str) or kwargs.get("condition_parser") not in ("pandas", None):
        raise UnsupportedRule(f"row condition {condition!r}")
    parts = []
    for piece in re.split(r"\s+and\s+|\s*&\s*", text.strip()):
        match = _COMPARISON.fullmatch(piece)
        if not match:
            raise UnsupportedRule(f"row condition {text!r}")
        column, operator, value = match.groups()
        literal = value[1:-1] if value[0] in "\"'" else (float(value) if "." in value else int(value))
        parts.append(f"{_name(column)} {'=' if operator == '==' else '<>'} {_literal(literal)}")
    return " and ".join(parts)


def _as_pandas_text(column: str, kind: str) -> str:
    """The text Great Expectations reports for a value of a compound or pair rule (str of the pandas value): a date
    reads 2025-03-10 00:00:00, a timestamp keeps its microseconds only when it has some; a missing date or timestamp
    reads NaT and a missing text nan (pandas 3's string type)."""
    name = _name(column)
    if kind == "date":
        return f"coalesce(strftime({name}::timestamp, '%Y-%m-%d %H:%M:%S'), 'NaT')"
    if kind == "timestamp":
        return (f"coalesce(case when date_trunc('second', {name}) = {name} then strftime({name}, '%Y-%m-%d %H:%M:%S') "
                f"else strftime({name}, '%Y-%m-%d %H:%M:%S.%f') end, 'NaT')")
    return f"coalesce({name}::varchar, 'nan')"


@dataclass(frozen=True)
class Rule:
    """One expectation of a suite, as SQL over a staged table that has LINE and the entity's typed columns."""

    index: int
    kind: str
    kwargs: dict[str, Any]

    @property
    def column(self) -> str:
        return rule_column(self.kwargs)

    @property
    def rule(self) -> str:
        return describe(self.kind, self.kwargs)

    def failing(self, table: str, types: dict[str, str]) -> str:
        """A query giving (k, line, column, rule, value) for every row that fails this expectation."""
        kw = self.kwargs
        where, value = self._failing(table, types)
        condition = _condition(kw)
        if condition:
            where = f"({condition}) and ({where})"
        return (f"select {self.index} as k, {_name(LINE)} as line, {_literal(self.column)} as \"column\", "
                f"{_literal(self.rule)} as rule, {value} as value from {table} where {where}")

    def _failing(self, table: str, types: dict[str, str]) -> tuple[str, str]:
        kw = self.kwargs
        if self.kind == "expect_column_values_to_not_be_null":
            return f"{_name(kw['column'])} is null", "null::varchar"
        if self.kind == "expect_column_values_to_be_in_set":
            column = _name(kw["column"])
            values = ", ".join(_literal(v) for v in kw["value_set"])
            return f"{column} is not null and {column} not in ({values})", f"{column}::varchar"
        if self.kind == "expect_column_values_to_be_between":
            column = _name(kw["column"])
            bounds = []
            if kw.get("min_value") is not None:
                bounds.append(f"{column} {'<=' if kw.get('strict_min') else '<'} {_literal(kw['min_value'])}")
            if kw.get("max_value") is not None:
                bounds.append(f"{column} {'>=' if kw.get('strict_max') else '>'} {_literal(kw['max_value'])}")
            return f"{column} is not null and ({' or '.join(bounds)})", f"{column}::varchar"
        if self.kind == "expect_column_values_to_be_unique":
            column = _name(kw["column"])
            repeated = f"select {column} from {table} where {column} is not null group by all having count(*) > 1"
            return f"{column} in ({repeated})", f"{column}::varchar"
        if self.kind == "expect_compound_columns_to_be_unique":
            if kw.get("ignore_row_if", "never") != "never":
                raise UnsupportedRule(f"{self.kind} with ignore_row_if={kw['ignore_row_if']!r}")
            columns = [_name(c) for c in kw["column_list"]]
            # Nulls are equal here, as pandas' duplicated() has them: GROUP BY makes one group of them.
            together = ", ".join(columns)
            repeated = f"select {together} from {table} group by all having count(*) > 1"
            match = " and ".join(f"r.{c} is not distinct from {table}.{c}" for c in columns)
            text = " || '|' || ".join(_as_pandas_text(c, types.get(c, "text")) for c in kw["column_list"])
            return f"exists (select 1 from ({repeated}) r where {match})", text
        if self.kind == "expect_column_pair_values_a_to_be_greater_than_b":
            if kw.get("ignore_row_if") != "either_value_is_missing":
                raise UnsupportedRule(f"{self.kind} with ignore_row_if={kw.get('ignore_row_if')!r}")
            a, b = _name(kw["column_A"]), _name(kw["column_B"])
            operator = "<" if kw.get("or_equal") else "<="
            text = (f"{_as_pandas_text(kw['column_A'], types.get(kw['column_A'], 'text'))} || ' < ' || "
                    f"{_as_pandas_text(kw['column_B'], types.get(kw['column_B'], 'text'))}")
            return f"{a} is not null and {b} is not null and {a} {operator} {b}", text
        raise UnsupportedRule(self.kind)


@cache
def rules(entity: str) -> tuple[Rule, ...]:
    """The entity's suite as compiled rules, in the suite's order (every one checked to compile)."""
    suite = load_suite_dict(entity)
    compiled = tuple(Rule(i, e["type"], e["kwargs"]) for i, e in enumerate(suite["expectations"]))
    for rule in compiled:
        rule.failing("t", {})  # an unknown expectation is refused when the suite is read, not halfway through a load
    return compiled


def check(con: Any, entity: str, table: str, types: dict[str, str]) -> tuple[Any, list[ExpectationResult]]:
    """Run the entity's suite on `table` in DuckDB connection `con`: the failing rows (a Polars frame of line,
    column, rule, value, in the suite's order and then the file's) and one summary per expectation."""
    compiled = rules(entity)
    union = " union all ".join(f"({r.failing(table, types)})" for r in compiled)
    failures = con.sql(f"select * from ({union}) order by k, line").pl()
    counts = dict(failures.group_by("k").len().iter_rows()) if failures.height else {}
    summary = [ExpectationResult(entity, r.rule, r.column, counts.get(r.index, 0) == 0, counts.get(r.index, 0))
               for r in compiled]
    return failures.drop("k"), summary

