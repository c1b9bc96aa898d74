"""`mio report` in a terminal: the outcome table as two tables that fit 80 columns (counts, then rates as
percentages), with short headers, thousands separators, the group wrapped, and suppressed groups marked.

JSON and CSV keep the contract's columns and fractions; this is only how a person reads them.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Table

from etl.metrics.outcomes import small_cells

# (column, header) for the two tables of the outcome table and the one of first destinations.
COUNTS = (("applications", "applications"), ("applicants", "students"), ("placements", "placed"),
          ("completed", "completed"), ("offers", "offers"), ("median_days_to_offer", "days to\noffer"))
RATES = (("selection_rate", "selected\n%"), ("completion_rate", "completed\n%"), ("offer_rate", "offer\n%"),
         ("conversion_rate", "converted\n%"), ("acceptance_rate", "accepted\n%"))
DESTINATIONS = (("cohort_size", "students"), ("knowledge_rate", "known\n%"),
                ("career_outcomes_rate", "career\noutcomes %"), ("median_salary_usd", "median\nsalary"))
ADJUSTED = (("offer_rate", "offer\n%"), ("adjusted_offer_rate", "adjusted\n%"), ("adjusted_ci_low", "95% low\n%"),
            ("adjusted_ci_high", "95% high\n%"))
PARTICIPATION = (("participants", "took\npart"), ("non_participants", "did\nnot"),
                 ("raw_difference", "raw\ngap pts"), ("adjusted_difference", "adjusted\ngap pts"),
                 ("ci_low", "95% low\npts"), ("ci_high", "95% high\npts"), ("max_abs_smd_after", "largest\nSMD"))
MARK = "*"


def _cell(column: str, value: Any) -> str:  # noqa: ANN401 - a cell of any report
    if value is None:
        return "—"
    if column == "max_abs_smd_after":
        return f"{float(value):.2f}"
    if column.endswith(("_rate", "_ci_low", "_ci_high", "_difference")) or column in ("ci_low", "ci_high"):
        return f"{float(value) * 100:.1f}"
    if column == "median_salary_usd":
        return f"${float(value):,.0f}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


Rows = list[dict]  # a table's rows as plain values (frame.to_dicts(), or the stored rows of etl/metrics/stored.py)


def _table(frame: Rows, keys: list[tuple[str, str]], columns: tuple[tuple[str, str], ...], title: str) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, title_justify="left")
    for _, header in keys:
        table.add_column(header, min_width=13, max_width=22)
    for _, header in columns:
        table.add_column(header, justify="right", no_wrap=True)
    for row in frame:
        names = [str(row[key]) for key, _ in keys]
        if row.get("suppressed"):
            names[-1] += f" {MARK}"
        table.add_row(*names, *[_cell(column, row[column]) for column, _ in columns])
    return table


def outcome_tables(frame: Rows, dimension: str, min_cell: int) -> list[Table]:
    """The outcome table (docs/data-contract.md §4) as counts and rates."""
    name = dimension.replace("_", " ")
    by = "" if dimension == "overall" else f" by {name}"
    keys = [("group", "group" if dimension == "overall" else name)]
    return [_table(frame, keys, COUNTS, f"Counts{by}"), _table(frame, keys, RATES, f"Rates (%){by}")]


def adjusted_table(frame: Rows, dimension: str) -> Table:
    """The raw offer rate beside the adjusted one (etl/metrics/adjusted.py) and its interval."""
    name = dimension.replace("_", " ")
    return _table(frame, [("group", name)], ADJUSTED, f"Offer rate by {name}, adjusted for the mix of students (%)")


def destination_tables(frame: Rows, min_cell: int) -> list[Table]:
    """First destinations (§7), one row per cohort and participation."""
    keys = [("cohort", "cohort"), ("participated", "took part")]
    return [_table(frame, keys, DESTINATIONS, "First destinations by cohort")]


def participation_table(frame: Rows) -> Table:
    """Participants against comparable non-participants (etl/metrics/adjusted.py), one row per cohort."""
    return _table(frame, [("cohort", "cohort")], PARTICIPATION,
                  "Career outcomes rate, took part less did not, in percentage points: raw, and with non-participants "
                  "weighted to the participants' mix of students")


def footnote(frame: Rows, min_cell: int) -> str | None:
    if any(row.get("suppressed") for row in frame):
        return f"{MARK} suppressed: {small_cells(min_cell)}. — no figure."
    return None
