"""The warehouse's format: which definitions built its derived and stored tables.

Every load writes it (the table `warehouse_format`); a reader finding another, or none, asks for a new load instead of
failing on a missing column or, worse, showing figures an older definition computed. It is not a number anyone
raises: it is a fingerprint of what the tables are built from — the derived tables' SQL files, the outcome query's
SQL, the declared figures, dimensions and stored groupings, and the entities' columns — so declaring a figure or
changing a derived table changes it, and a comment does not. No Polars here: `mio report` checks it on its quick path.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from pathlib import Path

import duckdb

from etl.ingest.derive import SQL_DIR
from etl.ingest.schema import ENTITIES
from etl.metrics.columns import CATALOGUE, FIGURES, OUTCOME_COLUMNS, PRECOMPUTED_OUTCOMES

# The outcome query that the stored outcome cells and outcome report are computed by (etl/metrics/outcomes.py).
OUTCOME_SQL = Path(__file__).parent / "sql" / "outcomes.sql"

# Raise it only when Python code (not a declaration, not a SQL file) changes what a stored table holds (how
# etl/metrics/outcomes.py fills the outcome query's placeholders, say): the fingerprint below cannot see that.
# 8: the first fingerprinted format (7 was the last number raised by hand).
LAYOUT = 8
# What a figure's or a dimension's declaration says that the stored tables depend on: all but its words.
_WORDS = ("header", "definition", "label")


def sql_tokens(text: str) -> str:
    """SQL without its comments and with its runs of white space as one space (a string literal kept as written):
    what a statement does, not how it is laid out."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "'":  # a literal, '' inside it included
            end = i + 1
            while end < n and not (text[end] == "'" and text[end + 1:end + 2] != "'"):
                end += 2 if text[end:end + 2] == "''" else 1
            out.append(text[i:end + 1])
            i = end + 1
        elif text.startswith("--", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif char.isspace():
            while i < n and text[i].isspace():
                i += 1
            out.append(" ")
        else:
            out.append(char)
            i += 1
    return "".join(out).strip()


def _declared() -> list[str]:
    """Everything the derived and stored tables are built from, as text."""
    def meant(declared: object) -> dict[str, object]:
        return {k: v for k, v in dataclasses.asdict(declared).items() if k not in _WORDS}  # type: ignore[call-overload]

    return [
        *(f"{path.name}: {sql_tokens(path.read_text())}" for path in [*sorted(SQL_DIR.glob("*.sql")), OUTCOME_SQL]),
        repr([meant(f) for f in FIGURES]),
        repr([meant(d) for d in CATALOGUE]),
        repr((OUTCOME_COLUMNS, PRECOMPUTED_OUTCOMES)),
        repr([(e.name, [(c.name, c.type) for c in e.columns]) for e in ENTITIES.values()]),
    ]


@functools.cache
def format_version() -> str:
    """This version of mio's warehouse format: LAYOUT, and a fingerprint of the definitions (`_declared`)."""
    digest = hashlib.sha256("\n".join(_declared()).encode()).hexdigest()[:16]
    return f"{LAYOUT}.{digest}"


def mark_format(con: duckdb.DuckDBPyConnection) -> None:
    """Write this version's format into the warehouse a load is building (a builder of etl/pipeline.py's loads)."""
    con.execute("create or replace table warehouse_format as select ? as version", [format_version()])
