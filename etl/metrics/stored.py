"""The outcome table (docs/data-contract.md §4 with §5's suppression) read from the rows a load stored, for the
command line: one query, plain Python values, no dataframe library, so `mio report --by DIMENSION` answers in about
the time Python and DuckDB take to start.

The rows and their suppression thresholds are computed at load time by the metrics layer's own functions
(`build_outcome_report` in etl/metrics/outcomes.py); a row is suppressed at K exactly when K is above its threshold,
and a suppressed row keeps only its group.
"""

from __future__ import annotations

from etl.metrics.columns import OUTCOME_COLUMNS, hidden_at
from etl.warehouse import Connection


def stored_outcome_table(con: Connection, dimension: str, min_cell: int) -> list[dict]:
    """The rows of `mio report --by dimension --min-cell min_cell`, in the order of the group."""
    figures = OUTCOME_COLUMNS[1:-1]
    below = hidden_at("threshold", "$k")
    hidden = ", ".join(f'case when {below} then null else "{c}" end as "{c}"' for c in figures)
    cur = con.cursor()
    try:
        cursor = cur.execute(f"""select "group", {hidden}, {below} as suppressed from outcome_report
                                 where dimension = $dimension order by "group" """,
                             {"k": min_cell, "dimension": dimension})
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        cur.close()
