"""Data tests on the derived tables (dbt's schema tests, as data in `sql/tests.yaml`): unique and not-null keys,
relationships, accepted values and row-count identities. `check_models` returns what failed, each in one line."""

from __future__ import annotations

import functools
from pathlib import Path

import duckdb
from ruamel.yaml import YAML

TESTS = Path(__file__).parent / "sql" / "tests.yaml"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@functools.cache
def model_tests() -> dict[str, dict]:
    return YAML(typ="safe", pure=True).load(TESTS.read_text(encoding="utf-8"))


@functools.cache
def _checks() -> list[tuple[str, list[str], str, str | None]]:
    """Every data test as (count query, its parameters, the failure's sentence with {n} for the count, a second count
    query the first must equal or None, {expected} in the sentence for its count)."""
    checks: list[tuple[str, list[str], str, str | None]] = []
    for table, tests in model_tests().items():
        t = _quote(table)
        if "unique" in tests:
            cols = ", ".join(_quote(c) for c in tests["unique"])
            checks.append((f"select count(*) from (select {cols} from {t} group by all having count(*) > 1)", [],
                           f"{table}: {{n}} repeated values of ({', '.join(tests['unique'])})", None))
        for column in tests.get("not_null", []):
            checks.append((f"select count(*) from {t} where {_quote(column)} is null", [],
                           f"{table}.{column}: {{n}} nulls", None))
        for column, target in tests.get("relationships", {}).items():
            other, key = target.split(".")
            checks.append((f"select count(*) from {t} x where x.{_quote(column)} is not null and not exists "
                           f"(select 1 from {_quote(other)} y where y.{_quote(key)} = x.{_quote(column)})", [],
                           f"{table}.{column}: {{n}} values not in {target}", None))
        for column, values in tests.get("accepted_values", {}).items():
            marks = ", ".join("?" for _ in values)
            checks.append((f"select count(*) from {t} where {_quote(column)} is not null and "
                           f"{_quote(column)}::varchar not in ({marks})", [str(v) for v in values],
                           f"{table}.{column}: {{n}} values outside {values}", None))
        if "row_count" in tests:
            checks.append((f"select count(*) from {t}", [],
                           f"{table}: {{n}} rows where `{tests['row_count']}` gives {{expected}}", tests["row_count"]))
    return checks


def check_models(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Run every data test, all counted in one statement; an empty list means the derived tables hold together."""
    checks = _checks()
    columns: list[str] = []
    params: list[str] = []
    for query, values, _, expected in checks:
        columns.append(f"({query})")
        params.extend(values)
        if expected is not None:
            columns.append(f"({expected})")
    counts = iter(con.execute(f"select {', '.join(columns)}", params).fetchall()[0])
    failures = []
    for _, _, sentence, expected in checks:
        n = int(next(counts))
        if expected is None:
            if n:
                failures.append(sentence.replace("{n}", str(n)))
        elif n != (should := int(next(counts))):
            failures.append(sentence.replace("{n}", str(n)).replace("{expected}", str(should)))
    return failures
