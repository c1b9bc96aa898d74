"""Data tests on the derived tables (dbt's schema tests, as data in `sql/tests.yaml`): unique and not-null keys,
relationships, accepted values and row-count identities. `check_models` returns what failed, each in one line."""

from __future__ import annotations

from pathlib import Path

import duckdb
from ruamel.yaml import YAML

TESTS = Path(__file__).parent / "sql" / "tests.yaml"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def model_tests() -> dict[str, dict]:
    return YAML(typ="safe", pure=True).load(TESTS.read_text(encoding="utf-8"))


def check_models(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Run every data test; an empty list means the derived tables hold together."""
    failures = []

    def count(sql: str, params: list[object] | None = None) -> int:
        return int(con.execute(sql, params or []).fetchall()[0][0])

    for table, tests in model_tests().items():
        t = _quote(table)
        if "unique" in tests:
            cols = ", ".join(_quote(c) for c in tests["unique"])
            repeated = count(f"select count(*) from (select {cols} from {t} group by all having count(*) > 1)")
            if repeated:
                failures.append(f"{table}: {repeated} repeated values of ({', '.join(tests['unique'])})")
        for column in tests.get("not_null", []):
            nulls = count(f"select count(*) from {t} where {_quote(column)} is null")
            if nulls:
                failures.append(f"{table}.{column}: {nulls} nulls")
        for column, target in tests.get("relationships", {}).items():
            other, key = target.split(".")
            orphans = count(f"select count(*) from {t} x where x.{_quote(column)} is not null and not exists "
                            f"(select 1 from {_quote(other)} y where y.{_quote(key)} = x.{_quote(column)})")
            if orphans:
                failures.append(f"{table}.{column}: {orphans} values not in {target}")
        for column, values in tests.get("accepted_values", {}).items():
            marks = ", ".join("?" for _ in values)
            other = count(f"select count(*) from {t} where {_quote(column)} is not null and "
                          f"{_quote(column)}::varchar not in ({marks})", [str(v) for v in values])
            if other:
                failures.append(f"{table}.{column}: {other} values outside {values}")
        if "row_count" in tests:
            rows, expected = count(f"select count(*) from {t}"), count(tests["row_count"])
            if rows != expected:
                failures.append(f"{table}: {rows} rows where `{tests['row_count']}` gives {expected}")
    return failures
