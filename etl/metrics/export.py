"""Exports that are safe to open in a spreadsheet (docs/data-contract.md §2: formula injection is neutralized)."""

from __future__ import annotations

import io

import polars as pl

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Neutralize every text column; numbers stay numbers (a negative number is not a formula)."""
    pattern = "^[" + "".join("\\" + c if c in "-+" else c for c in FORMULA_STARTS) + "]"
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(pattern)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c, dtype in frame.schema.items()
        if dtype == pl.String
    )


def to_csv(frame: pl.DataFrame) -> str:
    buffer = io.StringIO()
    safe_frame(frame).write_csv(buffer)
    return buffer.getvalue()
